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
"""

import asyncio
import concurrent.futures
import json
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
    from websockets.asyncio.client import connect

    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())

    async def opening():
        return await connect(
            url,
            ssl=ssl_context,
            origin=origin,
            additional_headers=headers,
            proxy=None,
            open_timeout=open_timeout,
            **options,
        )

    return ChatSocket(_LoopThread.run(opening()))
