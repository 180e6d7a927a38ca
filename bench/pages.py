"""Every kind of HTTP request under load through NGINX: no failed request, and the figures.

    .venv/bin/python -m bench.pages --guard      # about 2 minutes: 128 connections, fail on any error
    .venv/bin/python -m bench.pages              # the figures (about 15 minutes)

Boots the production stack (docker-compose.yml) with its defaults (but for
NGINX's cap on requests in progress per address, lifted because wrk is one
address: ``stack_control.ONE_ADDRESS_MANY_CLIENTS``) and loads,
with wrk, one URL of each kind a visitor or student requests: a hashed
static file, the catalogue, a subject page and a course page (anonymous,
so NGINX's page cache answers), a signed-in student's course player, an API
list and ``/healthz`` (Django without a query).

``--guard`` is the check CI runs (the stack layer runs the same function,
``assert_no_failures``, against its shared stack): every request must be
answered 2xx or 3xx, none may time out (the API list alone may also be
answered 429: wrk is one address, over NGINX's per-address API rate), and uWSGI must have recycled workers
during the run, so recycling under load is part of what passes. No figure is
compared with a threshold.

Without ``--guard`` it prints, in one run and each beside the machine's load
and wrk's own CPU:

1. every kind at 64 connections (req/s, p50, p99) beside the static file;
2. every kind at 256 connections for 60 s: failures and worker respawns;
3. the catalogue served the reference chapter's way (uWSGI 1 worker x
   1 thread, no page cache) beside the defaults;
4. the same image under gunicorn (gthread, the same workers x threads,
   TCP behind the same NGINX) beside uWSGI, on the requests Django answers.

Results go to test-artifacts/bench/pages.json.
"""

import argparse
import datetime
import json
import os
import re
from dataclasses import dataclass, field

from bench import stack_control
from bench.http_load import run_wrk
from bench.stack_control import log
from tests.support.journeys import DEMO_COURSE, enrolled_student, load_demo_courses
from tests.support.system import REPO

RESULTS = REPO / "test-artifacts" / "bench" / "pages.json"
# A request without an answer after this long counts as failed. NGINX itself
# waits 60 s for Django; a visitor gives up far sooner.
CLIENT_TIMEOUT = 10
# the compose file that swaps uWSGI for gunicorn (the comparison)
GUNICORN = "bench/gunicorn/compose.yml"


@dataclass
class Kind:
    """One kind of request: what wrk asks for and as whom."""

    name: str
    path: str
    headers: list = field(default_factory=list)
    # answered by Django on every request (not by NGINX from a file or its cache)
    dynamic: bool = True
    # Under NGINX's per-address rate limit: wrk is one address, so part of
    # its load is refused with 429 by design. The run counts the answers by
    # status; a 429 is the limit working, any other error still fails.
    rate_limited: bool = False


def request_kinds(stack):
    """Prepare the stack (demo courses, one enrolled student) and return one Kind per request kind."""
    load_demo_courses(stack)
    _, student, course = enrolled_student(stack, "load")
    catalogue = stack.client().get("/")
    assert catalogue.status_code == 200, catalogue.status_code
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', catalogue.text)
    assert stylesheet, "the catalogue links no hashed stylesheet"
    return [
        Kind("static file", stylesheet[1], dynamic=False),
        Kind("catalogue /", "/", dynamic=False),
        Kind("subject page", "/course/subject/programming/", dynamic=False),
        Kind("course page", f"/course/{DEMO_COURSE}/", dynamic=False),
        Kind(
            "student's player",
            f"/students/course/{course}/",
            [f"Cookie: {stack_control.cookie_header(student)}"],
        ),
        Kind("API list", "/api/courses/", rate_limited=True),
        Kind("/healthz", "/healthz"),
    ]


def respawn_count(stack):
    """uWSGI's worker respawns so far; None under another server (gunicorn has no stats socket)."""
    if GUNICORN in stack.compose_files:
        return None
    return stack_control.uwsgi_stats(stack)["respawns"]


def load(stack, kind, connections, duration):
    """wrk on one kind; the result as a dict with the machine's load and uWSGI respawns added."""
    respawns = respawn_count(stack)
    load_before = os.getloadavg()[0]
    result = run_wrk(
        f"{stack.base_url}{kind.path}",
        duration,
        connections,
        headers=kind.headers,
        timeout=CLIENT_TIMEOUT,
        count_statuses=kind.rate_limited,
    )
    outcome = result.as_dict()
    outcome["kind"] = kind.name
    refused = (result.statuses or {}).get("429", 0)
    outcome["refused_by_rate_limit"] = refused
    outcome["failed"] = result.failed - refused
    outcome["uwsgi_worker_respawns"] = None if respawns is None else respawn_count(stack) - respawns
    outcome["load_average_1min_before"] = round(load_before, 2)
    outcome["generator_cpu_percent"] = round(100 * result.generator_cpu_seconds / result.seconds, 1)
    log(
        f"  {kind.name:18} {connections:4} conn: {result.requests_per_second:8.1f} req/s, "
        f"p50 {result.latency_ms['p50']:7.1f} ms, p99 {result.latency_ms['p99']:7.1f} ms, "
        f"failed {outcome['failed']} {result.errors if outcome['failed'] else ''}, "
        f"{f'429 (rate limit) {refused}, ' if kind.rate_limited else ''}"
        f"respawns {outcome['uwsgi_worker_respawns']}, load {load_before:.2f}, "
        f"wrk CPU {outcome['generator_cpu_percent']}%"
    )
    return outcome


def assert_no_failures(stack, kinds, connections, duration):
    """Load every kind in turn; fail on any error or timeout, or when no worker was recycled."""
    outcomes = [load(stack, kind, connections, duration) for kind in kinds]
    failed = {outcome["kind"]: outcome["errors"] for outcome in outcomes if outcome["failed"]}
    assert not failed, f"failed requests at {connections} connections: {failed}"
    for outcome in outcomes:
        served = outcome["requests"] - outcome["refused_by_rate_limit"]
        assert served > 0, f"{outcome['kind']}: every request was refused"
    respawns = sum(outcome["uwsgi_worker_respawns"] for outcome in outcomes)
    # the guard must cover recycling under load, or it proves less than it says
    assert respawns > 0, "no uWSGI worker was recycled during the run"
    return outcomes


# --- the figures -------------------------------------------------------------------


def warm(stack, kinds, connections):
    for kind in kinds:
        run_wrk(f"{stack.base_url}{kind.path}", 2, connections, headers=kind.headers)


def figures(stack, kinds, args, results):
    """Every scenario in one run, so the figures compare under the same machine conditions."""
    workers, threads = stack_control.production_uwsgi_defaults()
    # what Django itself answers: the catalogue (with the page cache off) and the dynamic kinds
    django_kinds = [kind for kind in kinds if kind.dynamic or kind.path == "/"]

    log(f"defaults (uWSGI {workers}x{threads}, page cache on): every kind at {args.connections} connections")
    warm(stack, kinds, args.connections)
    results["at_64"] = [load(stack, kind, args.connections, args.duration) for kind in kinds]

    log(f"defaults: every kind at {args.many} connections, {args.long} s each: failures and respawns")
    results["at_256"] = [load(stack, kind, args.many, args.long) for kind in kinds]

    log(f"uWSGI {workers}x{threads}, page cache off: what Django answers")
    stack_control.reconfigure(stack, ("nginx",), NGINX_PAGE_CACHE_SECONDS=0)
    warm(stack, django_kinds, args.connections)
    results["uwsgi"] = [load(stack, kind, args.connections, args.duration) for kind in django_kinds]

    log("the reference chapter's layout: uWSGI 1 worker x 1 thread, no page cache")
    stack_control.reconfigure(stack, ("web",), UWSGI_WORKERS=1, UWSGI_THREADS=1)
    catalogue = django_kinds[0]
    warm(stack, [catalogue], args.connections)
    results["reference"] = load(stack, catalogue, args.connections, args.duration)

    log(f"gunicorn gthread {workers}x{threads} over TCP behind the same NGINX, page cache off")
    stack.compose_files = (*stack.compose_files, GUNICORN)
    stack_control.reconfigure(stack, ("web", "nginx"), UWSGI_WORKERS=workers, UWSGI_THREADS=threads)
    warm(stack, django_kinds, args.connections)
    results["gunicorn"] = [load(stack, kind, args.connections, args.duration) for kind in django_kinds]


def row(label, outcome, *extra):
    return (
        label,
        f"{outcome['requests_per_second']:.0f}",
        f"{outcome['latency_ms']['p50']:.1f}",
        f"{outcome['latency_ms']['p99']:.1f}",
        str(outcome["failed"]),
        *extra,
        f"{outcome['load_average_1min_before']:.2f}",
        f"{outcome['generator_cpu_percent']}%",
    )


def table(results):
    """The run as one text table; each section's extra column compares with its own baseline."""

    def header(title, extra):
        return (title, "req/s", "p50 ms", "p99 ms", "failed", extra, "load", "wrk CPU")

    rows = [header(f"defaults, {results['settings']['connections']} connections", "/ static")]
    static = results["at_64"][0]["requests_per_second"]
    for outcome in results["at_64"]:
        rows.append(row(outcome["kind"], outcome, f"{outcome['requests_per_second'] / static:.2f}"))
    rows.append(header(f"defaults, {results['settings']['many']} connections", "respawns"))
    for outcome in results["at_256"]:
        rows.append(row(outcome["kind"], outcome, str(outcome["uwsgi_worker_respawns"])))
    cached = results["at_64"][1]
    reference = results["reference"]
    speedup = cached["requests_per_second"] / reference["requests_per_second"]
    rows.append(header("catalogue: educa vs the reference", "educa/ref"))
    rows.append(row("educa (page cache, uWSGI)", cached, f"{speedup:.1f}x"))
    rows.append(row("reference: 1x1, no page cache", reference, "1.0x"))
    rows.append(header("page cache off: gunicorn vs uWSGI", "g/u req/s"))
    for ours, theirs in zip(results["uwsgi"], results["gunicorn"], strict=True):
        ratio = theirs["requests_per_second"] / ours["requests_per_second"]
        p99 = theirs["latency_ms"]["p99"] / ours["latency_ms"]["p99"] if ours["latency_ms"]["p99"] else 0
        rows.append(row(f"uWSGI    {ours['kind']}", ours, ""))
        rows.append(row(f"gunicorn {theirs['kind']}", theirs, f"{ratio:.2f} (p99 {p99:.2f})"))
    return aligned(rows)


def aligned(rows):
    """Rows of strings as a text table: the first column to the left, the figures to the right."""
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(cells))
        for cells in rows
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guard", action="store_true", help="the short check CI runs: fail on any error")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections for the figures (64)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per figure (15)")
    parser.add_argument("--many", type=int, default=256, help="connections of the no-failure run (256)")
    parser.add_argument("--long", type=int, default=60, help="seconds per kind of the no-failure run (60)")
    args = parser.parse_args(argv)
    if args.guard:
        args.many, args.long = 128, 10
    return args


def main(argv=None):
    args = parse_args(argv)
    stack_control.exit_unless_runnable(wrk=True)
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_average_before": os.getloadavg()},
        "settings": vars(args),
    }
    log(
        "booting the production stack (docker-compose.yml, its defaults; NGINX's cap on "
        "requests in progress per address lifted: wrk is one address)"
    )
    settings = {**stack_control.production_uwsgi_settings(), **stack_control.ONE_ADDRESS_MANY_CLIENTS}
    with stack_control.benchmark_stack(**settings) as stack:
        kinds = request_kinds(stack)
        if args.guard:
            log(f"guard: every kind at {args.many} connections for {args.long} s, no failure allowed")
            results["at_256"] = assert_no_failures(stack, kinds, args.many, args.long)
        else:
            figures(stack, kinds, args, results)
    if not args.guard:
        print("\n" + table(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nresults: {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
