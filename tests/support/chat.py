"""The chat's WebSockets for tests, with every connection driven by one thread.

OpenSSL forbids using one TLS connection from two threads at once, and
CPython's ``ssl`` module does not stop it. websockets' sync client does just
that over ``wss://``: a background thread reads the socket while the caller
writes to it, from the opening handshake on. On a loaded machine the suite
died with a segmentation fault inside ``ssl.py``, or a handshake request was
lost and the client timed out waiting for the answer.

Here every socket is websockets' asyncio client, and all of them run on one
event loop in one daemon thread: each TLS connection is only ever touched by
that thread. ``ChatSocket`` is a small blocking facade that hands coroutines
to the loop and waits for them, so tests stay plain functions. The
exceptions are websockets' own (``InvalidStatus`` for a refused handshake,
``ConnectionClosed`` once the connection is gone).

``ReconnectingChat`` is a client that keeps its room the way chat.js does
(reconnecting, catching up, sending again with message keys), for tests
that stop servers under it; it runs on the same loop thread.
"""

import asyncio
import collections
import concurrent.futures
import contextlib
import json
import secrets
import threading
import time

OPEN_TIMEOUT = 15
RECEIVE_TIMEOUT = 15


class _LoopThread:
    """One asyncio loop, started on first use, running until the process exits."""

    _lock = threading.Lock()
    _loop = None

    @classmethod
    def run(cls, coroutine, timeout=None):
        """Run ``coroutine`` on the loop and return its result (or raise its exception)."""
        future = cls.submit(coroutine)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout}s") from None

    @classmethod
    def submit(cls, coroutine):
        """Start ``coroutine`` on the loop; return its ``concurrent.futures.Future``."""
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="chat-sockets", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coroutine, cls._loop)


class ChatSocket:
    """An open WebSocket; use it as a context manager so it is always closed."""

    def __init__(self, connection):
        self._connection = connection

    def send(self, message):
        """Send a text (``str``), binary (``bytes``) or JSON (anything else) frame."""
        if not isinstance(message, (str, bytes)):
            message = json.dumps(message)
        _LoopThread.run(self._connection.send(message))

    def recv(self, timeout=RECEIVE_TIMEOUT):
        """The next frame; ``TimeoutError`` when none comes within ``timeout`` seconds."""
        # websockets' recv() may be cancelled without losing a frame.
        return _LoopThread.run(asyncio.wait_for(self._connection.recv(), timeout))

    def receive_json(self, timeout=RECEIVE_TIMEOUT):
        return json.loads(self.recv(timeout))

    def read_until_closed(self):
        """Read every frame in the background until the connection closes.

        Returns a ``Closing`` at once; its ``result(timeout)`` gives what came
        before the close, the close code and when the close was seen (wall
        clock, ``time.time()``, comparable with a container's on this machine).
        """
        from websockets.exceptions import ConnectionClosed

        async def reading():
            frames = []
            try:
                while True:
                    frames.append(await self._connection.recv())
            except ConnectionClosed:
                return Closing.Result(frames, self._connection.close_code, time.time())

        return Closing(_LoopThread.submit(reading()))

    def close(self, code=1000):
        _LoopThread.run(self._connection.close(code))

    @property
    def close_code(self):
        """The code the server closed with, or None while open (or when it just dropped)."""
        return self._connection.close_code

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class Closing:
    """A socket being read until it closes (``ChatSocket.read_until_closed``)."""

    class Result:
        def __init__(self, frames, code, closed_at):
            self.frames = frames
            self.code = code
            self.closed_at = closed_at

        def json_frames(self):
            return [json.loads(frame) for frame in self.frames]

    def __init__(self, future):
        self._future = future

    def result(self, timeout=RECEIVE_TIMEOUT):
        """The ``Result`` once closed; ``TimeoutError`` when still open after ``timeout`` seconds."""
        try:
            return self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            self._future.cancel()
            raise TimeoutError(f"still open after {timeout}s") from None


def open_socket(url, ssl_context=None, origin=None, cookies=None, open_timeout=OPEN_TIMEOUT, **options):
    """Open ``url`` (``ws://`` or ``wss://``) and return a ``ChatSocket``.

    ``cookies`` is a mapping sent as the Cookie header (a signed-in user's
    session); ``origin`` is what a browser on the page would send.
    """
    return ChatSocket(_LoopThread.run(_connect(url, ssl_context, origin, cookies, open_timeout, **options)))


async def _connect(url, ssl_context, origin, cookies, open_timeout, **options):
    """websockets' connection to ``url``, on the loop thread (see ``open_socket``)."""
    from websockets.asyncio.client import connect

    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return await connect(
        url,
        ssl=ssl_context,
        origin=origin,
        additional_headers=headers,
        proxy=None,
        open_timeout=open_timeout,
        **options,
    )


class _Pace:
    """The message rate chat.js keeps to: a burst, then a little under the server's rate."""

    def __init__(self, burst, per_second):
        self.burst = burst
        # 0.9, like chat.js: network delays can bunch frames up on the way
        self.rate = per_second * 0.9
        self.refill()

    def refill(self):
        """A new socket starts with a full burst on the server."""
        self.tokens = float(self.burst)
        self.updated = time.monotonic()

    async def take(self):
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class ReconnectingChat:
    """A member in a chat room through whatever happens to the servers, as chat.js is.

    ``url`` is the room's socket URL without a query; ``ssl_context``,
    ``origin`` and ``cookies`` are those of ``open_socket``.

    Like the page it reconnects by itself when the socket closes or fails
    to open (here with a short backoff, ``first_retry`` doubling up to
    ``longest_retry``, as tests want it quick; the longest at once after
    4008 and 4029; never again after 4001 or 4003). Every message goes with
    a random key and stays pending until a frame with that key arrives; the
    pending ones are sent again, same keys, on each new socket, no faster
    than the server's rate (``rate_burst``, ``rate_per_second``). Each
    socket asks for what it missed with ``after=<highest id received>``; the
    first uses ``after`` (0: the room's recent history, like a page just
    loaded; None: nothing).

    Every message received is kept by id; copies of an id already received
    (caught up and live, or broadcast again for a key sent twice) are listed
    by id in ``duplicates``. A key seen in any message counts as received, so one
    client can wait for another's messages by their keys.

    All of its state lives on the loop thread; the methods below are a
    blocking facade, like ``ChatSocket``'s, safe to call from any thread.
    """

    STOP_CODES = (4001, 4003)
    SLOW_CODES = (4008, 4029)

    def __init__(
        self,
        url,
        ssl_context=None,
        origin=None,
        cookies=None,
        after=0,
        first_retry=0.2,
        longest_retry=2.0,
        rate_burst=10,
        rate_per_second=1.0,
        open_timeout=OPEN_TIMEOUT,
    ):
        self.url = url
        self._connecting = {
            "ssl_context": ssl_context,
            "origin": origin,
            "cookies": cookies,
            "open_timeout": open_timeout,
        }
        self._after = after
        self._first_retry = first_retry
        self._longest_retry = longest_retry
        self._pace = _Pace(rate_burst, rate_per_second)
        self._received = {}  # id -> the first frame with that id
        self._keys = {}  # key -> id, for every message received with a key
        self._pending = {}  # key -> text, sent but not come back yet, oldest first
        self._unsent = collections.deque()  # keys still to send on the current socket
        self._changed = asyncio.Condition()
        self._connection = None
        self._task = None
        self._closing = False
        self.opened = 0
        self.duplicates = []  # ids received again
        self.stopped_with = None
        self.close_codes = []
        self.errors = []
        self.open_failures = []

    # --- the blocking facade ---------------------------------------------------------

    def start(self, timeout=OPEN_TIMEOUT):
        """Connect, and keep connected; returns once the first socket is open."""

        async def starting():
            self._task = asyncio.get_running_loop().create_task(self._run())

        _LoopThread.run(starting())
        try:
            self._wait(lambda: self.opened, timeout)
        except TimeoutError:
            self.close()
            raise TimeoutError(f"no socket open within {timeout}s: {self.open_failures[-3:]}") from None
        return self

    def send(self, text):
        """Send ``text`` as a new message (now, or once connected again); returns its key."""
        key = secrets.token_hex(16)

        async def queueing():
            self._pending[key] = text
            self._unsent.append(key)
            await self._notify()

        _LoopThread.run(queueing())
        return key

    def wait_for(self, keys=(), ids=(), timeout=RECEIVE_TIMEOUT):
        """The messages with these keys and ids, once all have arrived: ``{key or id: frame}``.

        ``TimeoutError`` naming those still missing after ``timeout`` seconds.
        """
        keys, ids = list(keys), list(ids)

        def missing():
            return [key for key in keys if key not in self._keys] + [
                i for i in ids if i not in self._received
            ]

        try:
            self._wait(lambda: not missing(), timeout)
        except TimeoutError:
            raise TimeoutError(f"not received within {timeout}s: {self._on_loop(missing)}") from None
        return self._on_loop(
            lambda: {
                **{key: self._received[self._keys[key]] for key in keys},
                **{i: self._received[i] for i in ids},
            }
        )

    def wait_connected(self, timeout=OPEN_TIMEOUT):
        """Return once a socket is open (at once when one is)."""
        self._wait(lambda: self._connection is not None, timeout)

    def messages(self):
        """Every message received, once each, by id."""
        return self._on_loop(lambda: [self._received[i] for i in sorted(self._received)])

    def pending(self):
        """The keys of the messages sent that have not come back yet."""
        return self._on_loop(lambda: list(self._pending))

    @property
    def reconnects(self):
        """Sockets opened after the first one."""
        return max(self.opened - 1, 0)

    def close(self):
        """Close the socket and stop reconnecting."""

        async def closing():
            self._closing = True
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

        _LoopThread.run(closing(), timeout=RECEIVE_TIMEOUT)

    def __enter__(self):
        return self if self._task is not None else self.start()

    def __exit__(self, *exc_info):
        self.close()

    def _on_loop(self, function):
        """``function()``, called on the loop thread, where the state changes."""

        async def calling():
            return function()

        return _LoopThread.run(calling())

    def _wait(self, condition, timeout):
        async def waiting():
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(condition), timeout)

        # a little longer here: the loop's own timeout is the one that cancels cleanly
        _LoopThread.run(waiting(), timeout + 5)

    # --- on the loop thread ----------------------------------------------------------

    async def _notify(self):
        async with self._changed:
            self._changed.notify_all()

    def _socket_url(self):
        """The room's URL, asking for what came after the newest message received."""
        known = [i for i in (self._after, max(self._received, default=None)) if i is not None]
        if not known:
            return self.url
        return f"{self.url}{'&' if '?' in self.url else '?'}after={max(known)}"

    async def _run(self):
        from websockets.exceptions import WebSocketException

        failures = 0
        try:
            while not self._closing:
                try:
                    connection = await _connect(self._socket_url(), **self._connecting)
                except (OSError, EOFError, TimeoutError, WebSocketException) as error:
                    # refused, no answer, cut off, or a 502 from a proxy with no server behind it
                    self.open_failures.append(f"{type(error).__name__}: {error}")
                    await asyncio.sleep(min(self._longest_retry, self._first_retry * 2**failures))
                    failures += 1
                    continue
                failures = 0
                code = await self._talk(connection)
                if code in self.STOP_CODES:
                    self.stopped_with = code
                    return
                await asyncio.sleep(self._longest_retry if code in self.SLOW_CODES else self._first_retry)
        finally:
            await self._notify()

    async def _talk(self, connection):
        """Use ``connection`` until it closes; return its close code."""
        from websockets.exceptions import ConnectionClosed

        self._connection = connection
        self.opened += 1
        self._pace.refill()
        # Whatever is pending may or may not have been stored before the last
        # socket went: sent again first, same keys, it is stored once.
        self._unsent = collections.deque(self._pending)
        await self._notify()
        writer = asyncio.get_running_loop().create_task(self._write(connection))
        try:
            async for frame in connection:
                await self._receive(frame)
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            self._connection = None
            # also when cancelled by close(): the server sees a normal closure
            await connection.close()
        self.close_codes.append(connection.close_code)
        await self._notify()
        return connection.close_code

    async def _write(self, connection):
        from websockets.exceptions import ConnectionClosed

        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: self._unsent)
            await self._pace.take()
            key = self._unsent.popleft()
            if key not in self._pending:
                continue  # came back meanwhile (caught up): stored already
            try:
                await connection.send(json.dumps({"message": self._pending[key], "key": key}))
            except ConnectionClosed:
                return  # still pending: sent again on the next socket

    async def _receive(self, frame):
        data = json.loads(frame)
        if "error" in data:
            self.errors.append(data["error"])
        elif "id" in data:
            if data["id"] in self._received:
                self.duplicates.append(data["id"])
            else:
                self._received[data["id"]] = data
            if data.get("key") is not None:
                self._keys.setdefault(data["key"], data["id"])
                self._pending.pop(data["key"], None)
        await self._notify()
