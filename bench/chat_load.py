"""Chat load: many students in one course room over WSS, through NGINX and Daphne.

Every client is a real signed-in, enrolled student (its session cookie opens
the socket, with the site's own Origin, as the chat page would). Each client
sends its messages on a fixed schedule; every message is stored by the server
before it is broadcast, so each one is a database write plus a fan-out through
the Redis channel layer to every client in the room.

All clients live in this one process and share its clock, so the delay from
a send to its arrival at another client is measured directly. That also means
the load generator's own event loop (decrypting TLS for every client) is part
of what is measured; it runs on the same cores as the stack.
"""

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field


def percentile(values, fraction):
    """The value below which ``fraction`` of ``values`` lie (nearest rank); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def latency_summary(seconds):
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    summary = {name: percentile(seconds, fraction) for name, fraction in QUANTILES}
    summary["max"] = max(seconds, default=0.0)
    return {name: round(value * 1000, 2) for name, value in summary.items()}


@dataclass
class ChatResult:
    """One room load, reduced to what the report compares."""

    tag: str
    clients: int
    messages_per_client: int
    interval: float
    sent: int = 0
    delivered: int = 0
    expected: int = 0
    errors: list = field(default_factory=list)
    latencies: list = field(default_factory=list)
    send_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def offered_deliveries_per_second(self):
        """What the senders asked for: every message to every other client, over the sending window."""
        return self.expected / self.send_seconds if self.send_seconds else 0.0

    @property
    def deliveries_per_second(self):
        return self.delivered / self.seconds if self.seconds else 0.0

    def latency_ms(self):
        return latency_summary(self.latencies)

    def as_dict(self):
        return {
            "tag": self.tag,
            "clients": self.clients,
            "messages_per_client": self.messages_per_client,
            "send_interval_s": self.interval,
            "sent": self.sent,
            "delivered_to_other_clients": self.delivered,
            "expected_deliveries": self.expected,
            "send_seconds": round(self.send_seconds, 3),
            "seconds": round(self.seconds, 3),
            "offered_deliveries_per_second": round(self.offered_deliveries_per_second, 1),
            "deliveries_per_second": round(self.deliveries_per_second, 1),
            "latency_ms": self.latency_ms(),
            "errors": self.errors[:20],
        }


def message_text(tag, sender, seq):
    return f"bench {tag} {sender} {seq}"


def parse_text(text, tag):
    """(sender, seq) of one of this run's messages, or None for anything else."""
    parts = text.split()
    if len(parts) != 4 or parts[:2] != ["bench", tag]:
        return None
    return int(parts[2]), int(parts[3])


def connect_socket(url, cookie, ssl_context, origin, **options):
    """Open one chat socket as a browser on the chat page would: session cookie, the site's Origin.

    When the connection is established, the server has accepted the socket,
    and it accepts only after joining the room's group: no message can be missed.
    """
    from websockets.asyncio.client import connect

    return connect(
        url,
        ssl=ssl_context,
        origin=origin,
        additional_headers={"Cookie": cookie},
        proxy=None,
        open_timeout=60,
        **options,
    )


async def open_sockets(url, cookie_headers, ssl_context, origin):
    return await asyncio.gather(
        *(connect_socket(url, cookie, ssl_context, origin) for cookie in cookie_headers)
    )


async def open_in_batches(targets, ssl_context, origin, batch, **options):
    """Open one socket per (url, cookie) in ``targets``, ``batch`` handshakes at a time.

    A thousand TLS handshakes at once queue up in NGINX and Daphne until some
    pass Daphne's handshake timeout; batches keep each one short. Returns the
    sockets (None where opening failed) and the failures as (index, repr).
    """
    sockets, failures = [], []
    for start in range(0, len(targets), batch):
        chunk = targets[start : start + batch]
        opened = await asyncio.gather(
            *(connect_socket(url, cookie, ssl_context, origin, **options) for url, cookie in chunk),
            return_exceptions=True,
        )
        for index, outcome in enumerate(opened, start):
            if isinstance(outcome, BaseException):
                failures.append((index, repr(outcome)))
                outcome = None
            sockets.append(outcome)
    return sockets, failures


class DeliveryLedger:
    """Every send and every arrival of one tagged run, checked per (sender, seq).

    ``room_of[client]`` is the room of each client and ``room_sizes[room]``
    its number of members: each message must reach every member of its
    sender's room exactly once, the sender included (the server echoes it).
    A second arrival of a message at the same client is a duplicate, an
    arrival in another room is misrouted, and whatever has not arrived is lost.
    Latency is taken from the send to the arrival at each other member.
    """

    def __init__(self, tag, room_of, room_sizes):
        self.tag = tag
        self.room_of = room_of
        self.room_sizes = room_sizes
        self.sent_at = {}
        self.arrivals = Counter()
        self.received = set()
        self.latencies = []
        # per message: its first and its last arrival at another member
        self.first_arrival = {}
        self.last_arrival = {}
        self.duplicates = 0
        self.misrouted = 0
        self.errors = []

    def sending(self, sender, seq):
        """Note the send time of a message just before it goes out; return its text."""
        self.sent_at[(sender, seq)] = time.perf_counter()
        return message_text(self.tag, sender, seq)

    def arrived(self, receiver, frame, at):
        """Account for one frame received by ``receiver`` at ``at`` (perf_counter seconds)."""
        payload = json.loads(frame)
        if "error" in payload:
            self.errors.append(payload["error"])
            return
        key = parse_text(payload.get("message", ""), self.tag)
        if key is None or key not in self.sent_at:
            return
        if self.room_of[key[0]] != self.room_of[receiver]:
            self.misrouted += 1
            return
        if (receiver, key) in self.received:
            self.duplicates += 1
            return
        self.received.add((receiver, key))
        self.arrivals[key] += 1
        if receiver != key[0]:
            self.latencies.append(at - self.sent_at[key])
            self.first_arrival.setdefault(key, at)
            self.last_arrival[key] = at

    def first_and_last(self):
        """Per message, the latency to its first and to its last other member (seconds), in two lists.

        The first is the path every copy shares (the sender's frame to Daphne,
        the insert, Redis, back out); the last adds handing the copies out.
        """
        keys = [key for key in self.sent_at if key in self.first_arrival]
        return (
            [self.first_arrival[key] - self.sent_at[key] for key in keys],
            [self.last_arrival[key] - self.sent_at[key] for key in keys],
        )

    @property
    def expected(self):
        return sum(self.room_sizes[self.room_of[sender]] for sender, _ in self.sent_at)

    @property
    def delivered(self):
        return len(self.received)

    def lost(self):
        """Deliveries missing, summed over every message sent (never negative per message)."""
        return sum(max(0, self.room_sizes[self.room_of[key[0]]] - self.arrivals[key]) for key in self.sent_at)

    def complete(self):
        return self.delivered >= self.expected


async def room_load(url, cookie_headers, ssl_context, origin, messages_per_client, interval, tag, settle=30):
    """Connect every client to the room at ``url``, let each send its messages, time the deliveries.

    ``cookie_headers`` has one Cookie header value per client. Each client
    sends ``messages_per_client`` messages ``interval`` seconds apart, the
    clients' schedules offset at random within one interval. Deliveries still
    missing ``settle`` seconds after the last send are counted as lost.
    """
    clients = len(cookie_headers)
    result = ChatResult(tag=tag, clients=clients, messages_per_client=messages_per_client, interval=interval)
    result.expected = clients * messages_per_client * (clients - 1)
    sent_at = {}
    sockets = await open_sockets(url, cookie_headers, ssl_context, origin)
    first_send = None
    last_send = None
    last_delivery = None

    async def receive(index, socket):
        nonlocal last_delivery
        # every message of the room arrives at every client, its own included
        remaining = clients * messages_per_client
        while remaining:
            payload = json.loads(await socket.recv())
            arrived = time.perf_counter()
            if "error" in payload:
                result.errors.append(payload["error"])
                continue
            found = parse_text(payload.get("message", ""), tag)
            if found is None:
                continue
            remaining -= 1
            sender, _ = found
            if sender != index:
                result.latencies.append(arrived - sent_at[found])
                result.delivered += 1
                last_delivery = arrived

    async def send(index, socket, start):
        nonlocal last_send
        offset = random.uniform(0, interval)
        for seq in range(messages_per_client):
            # an absolute schedule, so a late wake-up does not delay every later message
            await asyncio.sleep(max(0.0, start + offset + seq * interval - time.perf_counter()))
            sent_at[(index, seq)] = time.perf_counter()
            await socket.send(json.dumps({"message": message_text(tag, index, seq)}))
            result.sent += 1
            last_send = max(last_send or 0.0, time.perf_counter())

    try:
        receivers = [asyncio.create_task(receive(index, socket)) for index, socket in enumerate(sockets)]
        first_send = time.perf_counter()
        await asyncio.gather(*(send(index, socket, first_send) for index, socket in enumerate(sockets)))
        _, pending = await asyncio.wait(receivers, timeout=settle)
        for task in pending:
            task.cancel()
        for task in receivers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                result.errors.append(repr(task.exception()))
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    # rates are taken from the first send: to the last send for what was
    # offered, to the last delivery for what the clients received
    result.send_seconds = (last_send or first_send) - first_send
    result.seconds = (last_delivery or first_send) - first_send
    return result
