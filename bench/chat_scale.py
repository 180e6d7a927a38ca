"""The course chat at scale: a thousand signed-in students over WSS, through NGINX and Daphne.

    .venv/bin/python -m bench.chat_scale [--daphne 2] [--rate-rooms 0.25] [--rate-big 0.5] [--quick]
                                         [--scenarios rooms,big] [--baseline] [--published-port]

Boots the production compose stack (docker-compose.yml) with ``--daphne``
Daphne replicas and runs two scenarios in it, one after the other:

- rooms: ``--rooms`` courses of ``--room-size`` enrolled students each
  (10 x 100 = 1,000 sockets open at once), every room chatting at
  ``--rate-rooms`` messages per second;
- big: one course of ``--big-room`` students (500), at ``--rate-big``;
  Daphne is restarted before it, so its memory starts from a fresh process.

With ``--baseline``, the same scenarios then run again on the same stack
with Daphne recreated on channels_redis's list layer (bench/list_layer), the
channel layer the stack used before Redis Pub/Sub (chat.layers says why it
changed): the baseline, measured in the same run.

For each scenario it reports how long opening the sockets took, Daphne's
memory per open socket, and, for each message rate asked for (a comma-separated
list keeps the sockets open and runs one traffic phase per rate), the
delivery latency (p50/p95/p99/max), per message the latency to its first and
to its last other member (what every copy shares, and what handing the copies
out adds), the messages and deliveries per second,
and the checks: every message delivered to every member of its room exactly
once (none lost, none duplicated, none in another room) and stored exactly
once (``chat_message`` rows carrying the phase's tag). Beside every figure
stand the load generator's own CPU use and the machine's load average: the
generator and the stack share the same cores.

Students are not registered through the site (each registration hashes a
password, about 0.35 s of CPU): one ``manage.py shell`` script in the web
container bulk-creates them with one shared password hash, enrols them and
gives each a database session, whose key is the cookie its socket opens with.

Prints one table and writes test-artifacts/bench/chat_scale.json. The stack is
torn down with its volumes at the end, also after an error or Ctrl-C.
"""

import argparse
import asyncio
import datetime
import json
import os
import random
import re
import resource
import secrets
import subprocess
import sys
import time

from bench import stack_control
from bench.chat_load import DeliveryLedger, connect_socket, latency_summary, open_in_batches
from bench.stack_control import log
from tests.support.stack import PROJECT_LABEL
from tests.support.system import REPO

RESULTS = REPO / "test-artifacts" / "bench" / "chat_scale.json"
SERVICE_LABEL = "com.docker.compose.service"
DAPHNE_PORT = 8001
# where NGINX listens for HTTPS inside its container (docker-compose.yml publishes it)
NGINX_HTTPS_PORT = 8443

# Runs in the web container through `manage.py shell -c`; __SPEC__ becomes a
# JSON string: {"prefix", "students", "rooms": [[first student, count], ...]}.
# The last line printed is JSON: the course id of each room and one session
# key per student.
SEED_STUDENTS = """
import json, secrets
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from courses.models import Course, Subject

spec = json.loads(__SPEC__)
User = get_user_model()
prefix = spec["prefix"]
owner = User.objects.create(username=f"{prefix}-owner", password=make_password(None))
subject, _ = Subject.objects.get_or_create(slug="bench-chat", defaults={"title": "Benchmark chat"})
# one hash for everybody: hashing is what makes registering slow, and no one logs in with it
password = make_password(secrets.token_urlsafe(16))
users = User.objects.bulk_create(
    [User(username=f"{prefix}-{number}", password=password) for number in range(spec["students"])]
)
Enrolment = Course.students.through
courses = []
for number, (first, count) in enumerate(spec["rooms"]):
    course = Course.objects.create(
        owner=owner, subject=subject, slug=f"{prefix}-room-{number}",
        title=f"Chat benchmark room {number}", overview="A course created for the chat benchmark.",
    )
    Enrolment.objects.bulk_create(
        [Enrolment(course_id=course.pk, user_id=user.pk) for user in users[first:first + count]]
    )
    courses.append(course.pk)
sessions = []
for user in users:
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    sessions.append(store.session_key)
print(json.dumps({"courses": courses, "sessions": sessions}))
"""

# Read in each container: cgroup v2 or v1 memory and CPU, PID 1's open-file
# limit and its TCP sockets (Daphne's established connections).
PROBE_FILES = (
    "/sys/fs/cgroup/memory.current",
    "/sys/fs/cgroup/memory.stat",
    "/sys/fs/cgroup/cpu.stat",
    "/sys/fs/cgroup/memory/memory.usage_in_bytes",
    "/sys/fs/cgroup/memory/memory.stat",
    "/sys/fs/cgroup/cpuacct/cpuacct.usage",
    "/proc/1/limits",
    "/proc/net/tcp",
)
PROBE = 'for f in {}; do [ -r $f ] && echo "== $f" && cat $f; done; true'.format(" ".join(PROBE_FILES))


def parse_rates(text):
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or min(rates) <= 0:
        raise argparse.ArgumentTypeError("give one or more positive rates, e.g. 1 or 0.5,1,2")
    return rates


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daphne", type=int, default=2, help="Daphne replicas (default 2)")
    parser.add_argument("--rooms", type=int, default=10, help="rooms of the first scenario (default 10)")
    parser.add_argument("--room-size", type=int, default=100, help="students per room (default 100)")
    parser.add_argument("--big-room", type=int, default=500, help="students in the big room (default 500)")
    parser.add_argument(
        "--rate-rooms",
        type=parse_rates,
        default=[0.25],
        help="messages/s sent in each room of the first scenario; a list runs one phase each (default 0.25)",
    )
    parser.add_argument(
        "--rate-big", type=parse_rates, default=[0.5], help="messages/s sent in the big room (default 0.5)"
    )
    parser.add_argument(
        "--duration", type=float, default=30, help="seconds of sending per phase (default 30)"
    )
    parser.add_argument("--batch", type=int, default=50, help="sockets opened at once (default 50)")
    parser.add_argument(
        "--settle", type=float, default=30, help="seconds to wait for late deliveries (default 30)"
    )
    parser.add_argument(
        "--scenarios", default="rooms,big", help="which scenarios to run: rooms, big or both (default)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short try of the script: 2 rooms of 20, a room of 40, 5 s"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="then the same scenarios with Daphne on channels_redis's list layer (the one before Pub/Sub)",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the generator's event loop: uvloop (default), or asyncio's own, which reads each frame "
        "slower and so adds more of its own time to the latency measured",
    )
    parser.add_argument(
        "--published-port",
        action="store_true",
        help="connect to NGINX's published port on localhost (through Docker's proxy), "
        "not to NGINX's own address on the stack's network",
    )
    parser.add_argument(
        "--healthcheck-interval",
        metavar="DURATION",
        help="run every healthcheck this often (e.g. 30s) instead of as shipped (1 to 5 s), "
        "to see what the checks' processes cost the latency",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rooms, args.room_size, args.big_room, args.duration = 2, 20, 40, 5
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if not set(args.scenarios) <= {"rooms", "big"} or not args.scenarios:
        parser.error("--scenarios takes rooms, big or rooms,big")
    if args.daphne < 1 or args.rooms < 1 or args.room_size < 2 or args.big_room < 2:
        parser.error("at least 1 Daphne, 1 room and 2 students per room")
    return args


def raise_open_file_limit(sockets):
    """Every socket is a file descriptor of this process: make room for all of them and some more."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = sockets + 256
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- Scenarios and students ------------------------------------------------------


def scenario_layouts(args):
    """Each scenario's rooms as (first student, count): the big room reuses the first students."""
    layouts = {}
    if "rooms" in args.scenarios:
        layouts["rooms"] = [(room * args.room_size, args.room_size) for room in range(args.rooms)]
    if "big" in args.scenarios:
        layouts["big"] = [(0, args.big_room)]
    return layouts


def seed_students(stack, prefix, layouts):
    """Create the students, their courses and their sessions; return (course ids, session keys)."""
    rooms = [room for layout in layouts.values() for room in layout]
    spec = {"prefix": prefix, "students": max(first + count for first, count in rooms), "rooms": rooms}
    script = SEED_STUDENTS.replace("__SPEC__", repr(json.dumps(spec)))
    output = stack.manage("shell", "-c", script).stdout.strip().splitlines()[-1]
    seeded = json.loads(output)
    return seeded["courses"], seeded["sessions"]


def room_url(stack, course):
    return f"{stack.ws_url}/ws/chat/room/{course}/"


def nginx_address(stack):
    """Where NGINX listens on the stack's own network: ``{"host": address, "port": 8443}``.

    A connection to the published port on localhost goes through Docker's
    userland proxy, one more process that copies every frame (it used an
    eighth of a core at 500 deliveries a second). A site's visitors reach
    NGINX without it, so the sockets are opened to NGINX's address directly,
    with the same URL, Host, Origin and certificate name.
    """
    container = stack.compose("ps", "-q", "nginx").stdout.split()[0]
    network = f"{stack.project}_default"
    address = subprocess.run(
        ["docker", "inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
         container],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return {"host": address, "port": NGINX_HTTPS_PORT}


async def check_session(stack, course, session_key):
    """Open one socket with a made session: the handshake must be accepted (101), not refused (403)."""
    from websockets.exceptions import InvalidStatus

    cookie = f"sessionid={session_key}"
    try:
        async with connect_socket(room_url(stack, course), cookie, stack.ssl_context(), stack.base_url):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def wait_accepted(stack, course, session_key, timeout=90):
    """Retry the session check while Daphne starts (NGINX answers 502 until it listens); 101 or fail."""
    from websockets.exceptions import InvalidStatus

    deadline = time.monotonic() + timeout
    while True:
        try:
            status = await check_session(stack, course, session_key)
        except (InvalidStatus, OSError, TimeoutError) as error:
            status = repr(error)
        if status == 101:
            return
        if status == 403 or time.monotonic() > deadline:
            raise RuntimeError(f"a made session's handshake was answered {status}, not 101")
        await asyncio.sleep(1)


async def restart_daphne(stack):
    """Start every Daphne replica afresh, so a scenario's memory does not reuse the previous one's."""
    await asyncio.to_thread(stack.compose, "restart", "--timeout", "10", "daphne")
    # until every replica listens, NGINX would send all new sockets to the ones that do
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        probes = await probe_stack(stack.project)
        probes = [probe for probe in probes.values() if probe["service"] == "daphne"]
        if probes and all(probe["listening"] for probe in probes):
            return
        await asyncio.sleep(1)
    raise RuntimeError("Daphne did not listen again within 90 s of its restart")


# --- Containers ------------------------------------------------------------------


async def docker(*args):
    process = await asyncio.create_subprocess_exec(
        "docker", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(
            f"docker {' '.join(args[:2])} exited {process.returncode}: {stderr.decode().strip()[-300:]}"
        )
    return stdout.decode()


async def stack_containers(project, every=False):
    """{container id: service} of the stack's running (or ``every``) containers; each replica its own."""
    template = '{{.ID}} {{.Label "' + SERVICE_LABEL + '"}}'
    listing = ["ps", "--all"] if every else ["ps"]
    output = await docker(*listing, "--filter", f"label={PROJECT_LABEL}={project}", "--format", template)
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


def split_probe(output):
    """{file name: its text} from the PROBE script's output."""
    files, name = {}, None
    for line in output.splitlines():
        if line.startswith("== "):
            name = line[3:]
            files[name] = []
        elif name is not None:
            files[name].append(line)
    return {name: "\n".join(lines) for name, lines in files.items()}


def stat_value(text, key):
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def memory_bytes(files):
    """Memory in use as `docker stats` counts it: the cgroup's usage less its inactive file cache."""
    if "/sys/fs/cgroup/memory.current" in files:
        usage = int(files["/sys/fs/cgroup/memory.current"])
        return usage - stat_value(files.get("/sys/fs/cgroup/memory.stat", ""), "inactive_file")
    usage = int(files.get("/sys/fs/cgroup/memory/memory.usage_in_bytes", "0") or 0)
    return usage - stat_value(files.get("/sys/fs/cgroup/memory/memory.stat", ""), "total_inactive_file")


def cpu_seconds(files):
    if "/sys/fs/cgroup/cpu.stat" in files:
        return stat_value(files["/sys/fs/cgroup/cpu.stat"], "usage_usec") / 1e6
    return int(files.get("/sys/fs/cgroup/cpuacct/cpuacct.usage", "0") or 0) / 1e9


def open_file_limit(files):
    for line in files.get("/proc/1/limits", "").splitlines():
        if line.startswith("Max open files"):
            return line.split()[3]
    return None


def sockets_on(files, port, state):
    """TCP sockets whose local port is ``port`` in ``state`` (01 established, 0A listening)."""
    count = 0
    for line in files.get("/proc/net/tcp", "").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[1].endswith(f":{port:04X}") and fields[3] == state:
            count += 1
    return count


async def probe_container(container, service):
    """One container's readings; a failed reading is logged and tried once more, then left out."""
    for attempt in (1, 2):
        try:
            files = split_probe(await docker("exec", container, "sh", "-c", PROBE))
            break
        except RuntimeError as error:
            log(f"  reading {service} {container} failed (attempt {attempt}): {error}")
            await asyncio.sleep(1)
    else:
        return None
    return {
        "service": service,
        "memory_bytes": memory_bytes(files),
        "cpu_seconds": cpu_seconds(files),
        "nofile": open_file_limit(files),
        "daphne_sockets": sockets_on(files, DAPHNE_PORT, "01") if service == "daphne" else None,
        "listening": sockets_on(files, DAPHNE_PORT, "0A") if service == "daphne" else None,
    }


async def probe_stack(project):
    """{container: memory, CPU so far, open-file limit, Daphne sockets} for every running container."""
    containers = await stack_containers(project)
    probes = await asyncio.gather(*(probe_container(cid, service) for cid, service in containers.items()))
    return {cid: probe for cid, probe in zip(containers, probes, strict=True) if probe is not None}


async def restarts(project):
    """{container: "status restarts"} for every container of the stack: a crashed Daphne shows here."""
    containers = await stack_containers(project, every=True)
    if not containers:
        return {}
    output = await docker("inspect", "--format", "{{.Name}} {{.State.Status}} {{.RestartCount}}", *containers)
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


def daphne_memory(probes):
    return {cid: probe["memory_bytes"] for cid, probe in probes.items() if probe["service"] == "daphne"}


def cpu_by_service(before, after, seconds):
    """Each service's CPU over a phase, in % of one core (Daphne replicas summed)."""
    usage = {}
    for cid, probe in after.items():
        if cid in before:
            spent = probe["cpu_seconds"] - before[cid]["cpu_seconds"]
            usage[probe["service"]] = usage.get(probe["service"], 0.0) + spent
    return {service: round(100 * spent / seconds, 1) for service, spent in sorted(usage.items())}


# --- Traffic ---------------------------------------------------------------------


class Machine:
    """This process's CPU and the wall clock over a stretch of the run, and the load average at its end."""

    def __init__(self):
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def reading(self):
        wall = time.perf_counter() - self.wall
        return {
            "seconds": round(wall, 2),
            "generator_cpu_percent": round(100 * (time.process_time() - self.cpu) / wall, 1) if wall else 0.0,
            "load_average": [round(value, 2) for value in os.getloadavg()],
        }


async def receive(client, socket, current, closed):
    """Hand every frame a client receives to the ledger of the phase running now."""
    from websockets.exceptions import ConnectionClosed

    try:
        async for frame in socket:
            ledger = current.get("ledger")
            if ledger is not None:
                ledger.arrived(client, frame, time.perf_counter())
    except ConnectionClosed as error:
        closed.append((client, repr(error)))


async def send_in_room(members, sockets, ledger, rate, count, start, lags):
    """``count`` messages at ``rate`` per second, from the room's members in turn, on an absolute schedule.

    A late wake-up does not delay the later messages; how late each send was
    is kept in ``lags``: a generator that cannot keep up shows there first.
    """
    offset = random.uniform(0, 1 / rate)
    first = random.randrange(len(members))
    sent = {}
    for number in range(count):
        due = start + offset + number / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        lags.append(max(0.0, time.perf_counter() - due))
        sender = members[(first + number) % len(members)]
        seq = sent.get(sender, 0)
        sent[sender] = seq + 1
        await sockets[sender].send(json.dumps({"message": ledger.sending(sender, seq)}))


async def wait_complete(ledger, settle):
    """Wait until every delivery has arrived, or ``settle`` seconds; return the seconds waited."""
    started = time.perf_counter()
    while not ledger.complete() and time.perf_counter() - started < settle:
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def traffic_phase(room, rate, args, label):
    """One tagged phase: every room sends at ``rate`` for ``--duration`` s; deliveries are checked."""
    # letters only before the digits (stack_control.count_chat_rows checks it)
    tag = f"{re.sub('[^a-z]', '', label)}-{secrets.token_hex(3)}"
    ledger = DeliveryLedger(tag, room["room_of"], room["sizes"])
    count = max(1, round(rate * args.duration))
    lags = []
    before = await probe_stack(room["project"])
    machine = Machine()
    room["current"]["ledger"] = ledger
    start = time.perf_counter() + 0.2
    await asyncio.gather(
        *(
            send_in_room(members, room["sockets"], ledger, rate, count, start, lags)
            for members in room["members"]
        )
    )
    sending = time.perf_counter() - start
    settled = await wait_complete(ledger, args.settle)
    reading = machine.reading()
    after = await probe_stack(room["project"])
    room["current"]["ledger"] = None
    sent = len(ledger.sent_at)
    first_member, last_member = ledger.first_and_last()
    return {
        "tag": tag,
        "rate_per_room": rate,
        "rooms": len(room["members"]),
        "sent": sent,
        "send_seconds": round(sending, 2),
        "messages_per_second": round(sent / sending, 1) if sending else 0.0,
        "expected_deliveries": ledger.expected,
        "delivered": ledger.delivered,
        "deliveries_per_second": round(ledger.delivered / (sending + settled), 1),
        "lost": ledger.lost(),
        "duplicates": ledger.duplicates,
        "misrouted": ledger.misrouted,
        "errors": ledger.errors[:20],
        "latency_ms": latency_summary(ledger.latencies),
        "first_member_ms": latency_summary(first_member),
        "last_member_ms": latency_summary(last_member),
        "send_lag_ms": latency_summary(lags),
        "wait_after_last_send_s": round(settled, 2),
        "cpu_percent_of_one_core": cpu_by_service(before, after, reading["seconds"]),
        **reading,
    }


async def open_timed(stack, targets, args, first_index=0):
    """Open ``targets`` in batches; return (sockets, failures, wall seconds, generator CPU seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    # clients do not ping: Daphne pings every socket itself, and the pongs are answered here
    sockets, failures = await open_in_batches(
        targets, stack.ssl_context(), stack.base_url, args.batch, ping_interval=None, **args.connect_to
    )
    failures = [(index + first_index, error) for index, error in failures]
    return sockets, failures, time.perf_counter() - wall, time.process_time() - cpu


async def open_room_sockets(stack, targets, args):
    """Open every socket in batches, Daphne's memory read once the first batch is open.

    The first sockets also pay for what Daphne sets up once (imports, its
    database connection, the channel layer's connections): the memory read
    after them lets the report give the cost of the later sockets alone.
    The time the reading takes is left out of the opening time.
    """
    first, failures, seconds, cpu = await open_timed(stack, targets[: args.batch], args)
    warm = await probe_stack(stack.project)
    rest, more, rest_seconds, rest_cpu = await open_timed(stack, targets[args.batch :], args, args.batch)
    seconds += rest_seconds
    opening = {
        "seconds": round(seconds, 2),
        "generator_cpu_percent": round(100 * (cpu + rest_cpu) / seconds, 1),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }
    return first + rest, failures + more, opening, warm


def memory_per_socket(before, during, sockets):
    """Daphne's added memory per open socket, in KiB, summed over its replicas."""
    added = sum(during.values()) - sum(before.get(cid, 0) for cid in during)
    return round(added / 1024 / sockets, 1) if sockets else 0.0


async def run_scenario(stack, name, layout, courses, sessions, rates, args):
    """Open the scenario's sockets, run one traffic phase per rate, close them; return the figures."""
    members = [list(range(first, first + count)) for first, count in layout]
    room_of = {client: number for number, clients in enumerate(members) for client in clients}
    targets = [
        (room_url(stack, courses[number]), f"sessionid={sessions[client]}")
        for number, clients in enumerate(members)
        for client in clients
    ]
    clients = [client for clients in members for client in clients]
    await wait_accepted(stack, courses[0], sessions[members[0][0]])
    before = await probe_stack(stack.project)
    log(
        f"{name}: a made session opens a socket (101); opening {len(targets)} sockets, {args.batch} at a time"
    )
    opened, failures, opening, warm = await open_room_sockets(stack, targets, args)
    sockets = dict(zip(clients, opened, strict=True))
    live = {client: socket for client, socket in sockets.items() if socket is not None}
    during = await probe_stack(stack.project)
    per_daphne = {
        cid: probe["daphne_sockets"] for cid, probe in during.items() if probe["service"] == "daphne"
    }
    log(
        f"  opened {len(live)}/{len(targets)} in {opening['seconds']} s (generator CPU "
        f"{opening['generator_cpu_percent']} %, load {opening['load_average'][0]}); "
        f"per Daphne {sorted(per_daphne.values())}"
    )
    figures = {
        "rooms": len(members),
        "room_size": len(members[0]),
        "connections": len(targets),
        "opened": len(live),
        "open_failures": failures[:20],
        "opening": opening,
        "batch": args.batch,
        "daphne_sockets": per_daphne,
        "daphne_memory_before": daphne_memory(before),
        "daphne_memory_open": daphne_memory(during),
        "daphne_memory_first_batch": daphne_memory(warm),
        "daphne_kib_per_socket": memory_per_socket(daphne_memory(before), daphne_memory(during), len(live)),
        "daphne_kib_per_socket_after_first_batch": memory_per_socket(
            daphne_memory(warm), daphne_memory(during), len(live) - min(args.batch, len(live))
        ),
        "open_file_limits": {probe["service"]: probe["nofile"] for probe in during.values()},
        "phases": [],
    }
    current, closed = {}, []
    room = {
        "project": stack.project,
        "sockets": live,
        "members": [[client for client in clients if client in live] for clients in members],
        "room_of": room_of,
        "sizes": [sum(client in live for client in clients) for clients in members],
        "current": current,
    }
    receivers = [
        asyncio.create_task(receive(client, socket, current, closed)) for client, socket in live.items()
    ]
    try:
        for rate in rates:
            phase = await traffic_phase(room, rate, args, name)
            phase["chat_message_rows"] = await asyncio.to_thread(
                stack_control.count_chat_rows, stack, phase["tag"]
            )
            phase["closed_sockets"] = closed[:20]
            figures["phases"].append(phase)
            log_phase(phase)
        figures["daphne_memory_after_traffic"] = daphne_memory(await probe_stack(stack.project))
        figures["containers"] = await restarts(stack.project)
    finally:
        await asyncio.gather(*(socket.close() for socket in live.values()), return_exceptions=True)
        for task in receivers:
            task.cancel()
        await asyncio.gather(*receivers, return_exceptions=True)
    return figures


def log_phase(phase):
    latency = phase["latency_ms"]
    log(
        f"  {phase['rate_per_room']} msg/s per room: sent {phase['sent']} "
        f"({phase['messages_per_second']}/s), "
        f"delivered {phase['delivered']}/{phase['expected_deliveries']} "
        f"({phase['deliveries_per_second']}/s), lost {phase['lost']}, duplicates {phase['duplicates']}, "
        f"rows {phase['chat_message_rows']}; latency p50 {latency['p50']} p95 {latency['p95']} "
        f"p99 {latency['p99']} max {latency['max']} ms; generator CPU {phase['generator_cpu_percent']} %, "
        f"load {phase['load_average'][0]}, CPU {phase['cpu_percent_of_one_core']}"
    )


async def benchmark(stack, args, results):
    args.connect_to = {} if args.published_port else await asyncio.to_thread(nginx_address, stack)
    results["sockets_to"] = args.connect_to or f"localhost:{stack.https_port}"
    log(f"sockets go to {results['sockets_to']}")
    layouts = scenario_layouts(args)
    prefix = f"scale{secrets.token_hex(3)}"
    log(f"seeding students, courses and sessions through manage.py shell ({prefix})")
    started = time.monotonic()
    courses, sessions = await asyncio.to_thread(seed_students, stack, prefix, layouts)
    results["seed_seconds"] = round(time.monotonic() - started, 1)
    log(f"  {len(sessions)} students in {len(courses)} courses in {results['seed_seconds']} s")
    offset = 0
    rates = {"rooms": args.rate_rooms, "big": args.rate_big}
    scenario_courses = {}
    for number, (name, layout) in enumerate(layouts.items()):
        room_courses = courses[offset : offset + len(layout)]
        offset += len(layout)
        if number:
            log("restarting Daphne between scenarios")
            await restart_daphne(stack)
        results["scenarios"][name] = await run_scenario(
            stack, name, layout, room_courses, sessions, rates[name], args
        )
        scenario_courses[name] = room_courses
    if args.baseline:
        log("baseline: Daphne again, on channels_redis's list layer (bench/list_layer)")
        await asyncio.to_thread(use_list_layer, stack)
        for name, layout in layouts.items():
            await restart_daphne(stack)
            results["scenarios"][f"{name}, list layer"] = await run_scenario(
                stack, f"{name}, list layer", layout, scenario_courses[name], sessions, rates[name], args
            )


def use_list_layer(stack):
    """Recreate Daphne with bench/list_layer's settings, every replica healthy."""
    stack.compose(
        "-f", str(REPO / "bench" / "list_layer" / "compose.yml"), "up", "-d", "--wait", "--no-deps", "daphne"
    )


# --- Report ----------------------------------------------------------------------


def verdict(phase):
    ok = (
        phase["lost"] == 0
        and phase["duplicates"] == 0
        and phase["misrouted"] == 0
        and not phase["errors"]
        and phase["chat_message_rows"] == phase["sent"]
    )
    return "ok" if ok else "FAILED"


def table_columns(results):
    """One column per (scenario, rate): the rows of the table read down a column."""
    columns = []
    for name, scenario in results["scenarios"].items():
        for phase in scenario["phases"]:
            latency = phase["latency_ms"]
            columns.append(
                {
                    "scenario": f"{name} {scenario['rooms']}x{scenario['room_size']}",
                    "sockets open / asked": f"{scenario['opened']}/{scenario['connections']}",
                    "opening s (batch)": f"{scenario['opening']['seconds']} ({scenario['batch']})",
                    "Daphne sockets per replica": " ".join(
                        str(count) for count in sorted(scenario["daphne_sockets"].values())
                    ),
                    "Daphne KiB per socket": scenario["daphne_kib_per_socket"],
                    "  the same after the first batch": scenario["daphne_kib_per_socket_after_first_batch"],
                    "msg/s per room (asked)": phase["rate_per_room"],
                    "messages/s sent": phase["messages_per_second"],
                    "deliveries/s": phase["deliveries_per_second"],
                    "messages sent": phase["sent"],
                    "chat_message rows": phase["chat_message_rows"],
                    "delivered / expected": f"{phase['delivered']}/{phase['expected_deliveries']}",
                    "lost / duplicated": f"{phase['lost']}/{phase['duplicates']}",
                    "latency p50 ms": latency["p50"],
                    "latency p95 ms": latency["p95"],
                    "latency p99 ms": latency["p99"],
                    "latency max ms": latency["max"],
                    "first member p50 / max ms": "{p50} / {max}".format(**phase["first_member_ms"]),
                    "last member p50 / max ms": "{p50} / {max}".format(**phase["last_member_ms"]),
                    "send lag p99 ms": phase["send_lag_ms"]["p99"],
                    "CPU % Daphne (all)": phase["cpu_percent_of_one_core"].get("daphne", 0.0),
                    "CPU % NGINX": phase["cpu_percent_of_one_core"].get("nginx", 0.0),
                    "CPU % PostgreSQL": phase["cpu_percent_of_one_core"].get("db", 0.0),
                    "CPU % Redis": phase["cpu_percent_of_one_core"].get("cache", 0.0),
                    "CPU % generator": phase["generator_cpu_percent"],
                    "load average 1 min": phase["load_average"][0],
                    "checks": verdict(phase),
                }
            )
    return columns


def format_table(columns):
    if not columns:
        return "(no phase ran)"
    labels = list(columns[0])
    cells = [[str(column[label]) for column in columns] for label in labels]
    width = max(len(label) for label in labels)
    widths = [max(len(row[index]) for row in cells) for index in range(len(columns))]
    lines = [
        "  ".join([label.ljust(width), *(cell.rjust(widths[i]) for i, cell in enumerate(row))])
        for label, row in zip(labels, cells, strict=True)
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# --- The run ---------------------------------------------------------------------


def run(args, results):
    log(f"booting the production stack with {args.daphne} Daphne replica(s)")
    # Every socket is a request in progress from one address, the generator's.
    with stack_control.benchmark_stack(
        healthcheck_interval=args.healthcheck_interval,
        DAPHNE_REPLICAS=args.daphne,
        **stack_control.ONE_ADDRESS_MANY_CLIENTS,
    ) as stack:
        results["machine"]["other_containers"] = stack_control.other_containers(stack.project)
        if results["machine"]["other_containers"]:
            log(f"note: {len(results['machine']['other_containers'])} other containers run on this engine")
        try:
            with asyncio.Runner(loop_factory=event_loop_factory(args.loop)) as runner:
                runner.run(benchmark(stack, args, results))
        except Exception:
            # what the proxy and Daphne said last, before the stack is gone
            print(stack.compose("ps", "--all", check=False).stdout)
            print(stack.logs("daphne", "nginx", tail=30))
            raise


def event_loop_factory(name):
    """The generator's event loop.

    A message to the room of 500 comes back as 500 frames at once, and this
    one process reads them one after the other: the time it spends on each
    frame adds up in the latency of the last members. uvloop reads a frame
    in less time than asyncio's own loop.
    """
    if name == "asyncio":
        return asyncio.new_event_loop
    import uvloop

    return uvloop.new_event_loop


def main(argv=None):
    args = parse_args(argv)
    stack_control.exit_unless_runnable()
    layouts = scenario_layouts(args)
    most = max(sum(count for _, count in layout) for layout in layouts.values())
    started = time.monotonic()
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_average_before": os.getloadavg()},
        "generator_open_file_limit": raise_open_file_limit(most),
        "settings": vars(args),
        "scenarios": {},
    }
    print(
        f"educa chat at scale, {results['date']}, {os.cpu_count()} cores shared by the stack and this\n"
        f"load generator (one process, {args.loop} event loop); {args.daphne} Daphne replica(s).",
        flush=True,
    )
    run(args, results)
    results["seconds"] = round(time.monotonic() - started, 1)
    columns = table_columns(results)
    results["table"] = columns
    print("\n" + format_table(columns))
    print(
        f"\nCPU % is of one core over the traffic phase ({args.duration:g} s of sending plus the wait for "
        f"the last deliveries);\nlatency runs from a send to its arrival at each other member of the room. "
        f"Whole run: {results['seconds']} s."
    )
    others = results["machine"].get("other_containers")
    if others:
        print(f"{len(others)} containers of other projects ran on the same engine (they share the cores).")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nresults: {RESULTS.relative_to(REPO)}")
    if any(column["checks"] != "ok" for column in columns):
        sys.exit(1)


if __name__ == "__main__":
    main()
