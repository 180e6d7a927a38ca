"""Benchmark educa through the real production stack, each figure beside its baseline.

    .venv/bin/python -m bench.run [--duration 15] [--connections 32] [--quick]

Boots the production compose stack (docker-compose.yml, as the stack tests
do), fills it through the site itself, then measures in one run:

1. HTTP through NGINX with wrk, on the catalogue, a course page and a signed-in
   student's course player: as configured (Redis cache) against the same stack
   with the cache made ineffective (CACHE_TTL=0: every cached value is deleted
   as it is written, so every request computes everything); and, on the
   catalogue and the player, uWSGI's production defaults against 1 worker
   with 1 thread.
2. The course chat over WSS: N students in one room, each sending K messages;
   delivery latency to every other client and deliveries per second, against
   the same load in a room of two.

Prints one table (baseline, educa, ratio) and writes test-artifacts/bench/
results.json. The stack is torn down with its volumes at the end, also after
an error or Ctrl-C.

The load generators (wrk, the Python WebSocket clients) run on the same
machine as the stack and share its cores: the figures compare scenarios
within one run; they are not the capacity of a real server.
"""

import argparse
import asyncio
import datetime
import json
import os
import secrets
import time

from bench import stack_control
from bench.chat_load import room_load
from bench.http_load import run_wrk
from bench.stack_control import log
from tests.support.journeys import DEMO_COURSE, DEMO_FIRST_CONTENT
from tests.support.system import REPO

RESULTS = REPO / "test-artifacts" / "bench" / "results.json"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of each wrk run (default 15)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before each run (default 3)")
    parser.add_argument("--students", type=int, default=20, help="clients in the chat room (default 20)")
    parser.add_argument(
        "--messages", type=int, default=20, help="messages each chat client sends (default 20)"
    )
    parser.add_argument(
        "--interval", type=float, default=0.25, help="seconds between one client's messages (default 0.25)"
    )
    parser.add_argument(
        "--extra-courses", type=int, default=40, help="courses added to the demo data (default 40)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run to try the script: 5 s runs, 8 chat clients"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.students, args.messages = 5, 1, 8, 10
    if args.students < 3:
        parser.error("--students must be at least 3 (the baseline room has 2)")
    return args


# --- HTTP ----------------------------------------------------------------------


def check_page(session, url, expected_text):
    """The page answers 200 with what a user would see, without redirects (e.g. to login)."""
    response = session.get(url, allow_redirects=False, timeout=30)
    if response.status_code != 200 or expected_text not in response.text:
        raise RuntimeError(f"GET {url}: {response.status_code}, {expected_text!r} not on the page")


def measure_page(stack, page, args):
    """Flush the cache, warm the workers (and the cache, where it works), then load the page with wrk."""
    stack_control.flush_cache(stack)
    check_page(page["session"], page["url"], page["expect"])
    headers = [f"Cookie: {page['cookie']}"] if page["cookie"] else []
    if args.warmup:
        run_wrk(page["url"], args.warmup, args.connections, headers=headers)
    respawns = stack_control.uwsgi_stats(stack)["respawns"]
    load = os.getloadavg()[0]
    result = run_wrk(page["url"], args.duration, args.connections, headers=headers)
    # wrk counts only 4xx/5xx as errors; a 302 to the login page would pass
    # unnoticed, so the page is checked again once the load is over.
    check_page(page["session"], page["url"], page["expect"])
    outcome = result.as_dict()
    outcome["cached_entries_after"] = stack_control.cached_entries(stack)
    outcome["uwsgi_worker_respawns"] = stack_control.uwsgi_stats(stack)["respawns"] - respawns
    # the machine's load as the run began: other containers on the engine add noise
    outcome["load_average_1min_before"] = round(load, 2)
    log(
        f"  {page['name']}: {result.requests_per_second:.1f} req/s, p50 {result.latency_ms['p50']} ms, "
        f"p99 {result.latency_ms['p99']} ms, errors {result.failed}, "
        f"cached entries {outcome['cached_entries_after']}, "
        f"worker respawns {outcome['uwsgi_worker_respawns']}, load {load:.2f}"
    )
    return outcome


# --- Chat ----------------------------------------------------------------------


def measure_chat(stack, sessions, course, args, label):
    tag = f"{label}-{secrets.token_hex(3)}"
    result = asyncio.run(
        room_load(
            f"{stack.ws_url}/ws/chat/room/{course}/",
            [stack_control.cookie_header(session) for session in sessions],
            stack.ssl_context(),
            stack.base_url,
            args.messages,
            args.interval,
            tag,
        )
    )
    outcome = result.as_dict()
    outcome["chat_message_rows"] = stack_control.count_chat_rows(stack, tag)
    outcome["expected_rows"] = len(sessions) * args.messages
    latency = outcome["latency_ms"]
    log(
        f"  {len(sessions)} clients: p50 {latency['p50']} ms, p95 {latency['p95']} ms, "
        f"max {latency['max']} ms, "
        f"{outcome['deliveries_per_second']} deliveries/s, delivered {result.delivered}/{result.expected}, "
        f"chat_message rows {outcome['chat_message_rows']} (expected {outcome['expected_rows']})"
    )
    return outcome


# --- Report --------------------------------------------------------------------


def ratio(baseline, educa):
    return f"{educa / baseline:.2f}x" if baseline else "n/a"


def compare(label, base, ours, digits=1):
    """One table row for a figure measured in both scenarios."""
    return (label, f"{base:.{digits}f}", f"{ours:.{digits}f}", ratio(base, ours))


def build_table(results):
    """Rows of (scenario, baseline, educa, ratio); the ratio is always educa / baseline."""
    rows = []
    for name, pair in results["http_cache"].items():
        base, ours = pair["baseline"], pair["educa"]
        rows.append(
            compare(
                f"cache {name} req/s (higher is better)",
                base["requests_per_second"],
                ours["requests_per_second"],
            )
        )
        rows.append(
            compare(
                f"cache {name} p50 ms (lower is better)", base["latency_ms"]["p50"], ours["latency_ms"]["p50"]
            )
        )
    layout = "uWSGI {}x{} vs {}x{}".format(
        results["uwsgi_baseline"]["workers"],
        results["uwsgi_baseline"]["threads"],
        results["uwsgi_default"]["workers"],
        results["uwsgi_default"]["threads"],
    )
    for name, pair in results["uwsgi"].items():
        base, ours = pair["baseline"], pair["educa"]
        label = f"{layout} {name}"
        rows.append(
            compare(
                f"{label} req/s (higher is better)", base["requests_per_second"], ours["requests_per_second"]
            )
        )
        for quantile in ("p50", "p99"):
            rows.append(
                compare(
                    f"{label} {quantile} ms (lower is better)",
                    base["latency_ms"][quantile],
                    ours["latency_ms"][quantile],
                )
            )
    base, ours = results["chat"]["baseline"], results["chat"]["educa"]
    label = f"chat {base['clients']} vs {ours['clients']} clients"
    for quantile in ("p50", "p95", "max"):
        rows.append(
            compare(
                f"{label} delivery {quantile} ms (lower is better)",
                base["latency_ms"][quantile],
                ours["latency_ms"][quantile],
            )
        )
    rows.append(
        compare(
            f"{label} deliveries/s offered",
            base["offered_deliveries_per_second"],
            ours["offered_deliveries_per_second"],
        )
    )
    rows.append(
        compare(
            f"{label} deliveries/s achieved", base["deliveries_per_second"], ours["deliveries_per_second"]
        )
    )
    rows.append(
        (
            f"{label} delivered / expected",
            f"{base['delivered_to_other_clients']}/{base['expected_deliveries']}",
            f"{ours['delivered_to_other_clients']}/{ours['expected_deliveries']}",
            "",
        )
    )
    rows.append(
        (
            f"{label} chat_message rows / N*K",
            f"{base['chat_message_rows']}/{base['expected_rows']}",
            f"{ours['chat_message_rows']}/{ours['expected_rows']}",
            "",
        )
    )
    return rows


def format_table(rows, baseline_note, educa_note):
    header = ("scenario", "baseline", "educa", "ratio")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(
            str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([*lines, "", *baseline_note, *educa_note])


# --- The run -------------------------------------------------------------------


def benchmark(stack, args, results):
    password = secrets.token_urlsafe(16)
    prefix = f"bench{secrets.token_hex(3)}"

    log(f"seeding: demo data, {args.extra_courses} more courses, {args.students} students (through the site)")
    results["courses"] = stack_control.seed_courses(stack, args.extra_courses)
    sessions, course = stack_control.enrolled_students(stack, args.students, password, prefix)
    anonymous = stack.client()
    pages = [
        {
            "name": "GET /",
            "url": f"{stack.base_url}/",
            "session": anonymous,
            "cookie": None,
            "expect": "Python from scratch",
        },
        {
            "name": "GET /course/<slug>/",
            "url": f"{stack.base_url}/course/{DEMO_COURSE}/",
            "session": anonymous,
            "cookie": None,
            "expect": "Getting started",
        },
        {
            "name": "GET /students/course/<pk>/",
            "url": f"{stack.base_url}/students/course/{course}/",
            "session": sessions[0],
            # the student's session: without it the player redirects to login
            "cookie": stack_control.cookie_header(sessions[0]),
            "expect": DEMO_FIRST_CONTENT,
        },
    ]
    results["uwsgi_default"] = stack_control.uwsgi_stats(stack)
    layout = "uWSGI {workers} workers x {threads} threads".format(**results["uwsgi_default"])

    log(f"chat: a room of 2 (baseline), then {args.students} clients, {args.messages} messages each")
    results["chat"] = {
        "baseline": measure_chat(stack, sessions[:2], course, args, "pair"),
        "educa": measure_chat(stack, sessions, course, args, "room"),
    }

    # The scenarios run in mirrored order (as configured: detail, player,
    # catalogue; uWSGI 1x1: catalogue, player; without the cache: catalogue,
    # player, detail), so a slow drift in the machine's load weighs on both
    # sides of each pair alike.
    catalogue, detail, player = pages
    log(f"HTTP as configured: Redis cache, {layout}")
    educa_http = {page["name"]: measure_page(stack, page, args) for page in (detail, player, catalogue)}

    # The catalogue is CPU-bound once cached; the player also waits on the
    # database (session, enrolment, modules), where more workers can overlap.
    log("baseline: web recreated with uWSGI 1 worker x 1 thread (the reference chapter), cache on")
    stack_control.reconfigure_web(stack, UWSGI_WORKERS=1, UWSGI_THREADS=1)
    results["uwsgi_baseline"] = stack_control.uwsgi_stats(stack)
    log("  uWSGI now runs {workers} worker(s) x {threads} thread(s)".format(**results["uwsgi_baseline"]))
    results["uwsgi"] = {
        page["name"]: {"baseline": measure_page(stack, page, args), "educa": educa_http[page["name"]]}
        for page in (catalogue, player)
    }

    log(
        f"baseline: web recreated with CACHE_TTL=0 (every cached value is deleted as it is written), {layout}"
    )
    stack_control.reconfigure_web(
        stack,
        CACHE_TTL=0,
        UWSGI_WORKERS=results["uwsgi_default"]["workers"],
        UWSGI_THREADS=results["uwsgi_default"]["threads"],
    )
    if stack_control.uwsgi_stats(stack)["workers"] != results["uwsgi_default"]["workers"]:
        raise RuntimeError("uWSGI did not return to its default layout")
    uncached = {page["name"]: measure_page(stack, page, args) for page in (catalogue, player, detail)}
    results["http_cache"] = {
        page["name"]: {"baseline": uncached[page["name"]], "educa": educa_http[page["name"]]}
        for page in pages
    }


def main(argv=None):
    args = parse_args(argv)
    stack_control.exit_unless_runnable(wrk=True)
    cores = os.cpu_count()
    workers, threads = stack_control.production_uwsgi_defaults()
    started = time.monotonic()
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cores": cores, "load_average_before": os.getloadavg()},
        "settings": vars(args),
    }
    print(
        f"educa benchmark, {results['date']}, {cores} cores. The load generators (wrk, the WebSocket\n"
        "clients) share these cores with the stack: compare figures within this run; they are not\n"
        "the capacity of a real server.",
        flush=True,
    )
    log("booting the production stack (docker-compose.yml)")
    # NGINX's page cache off: these figures are about Django's own cache and
    # uWSGI's layout (bench/pages.py measures the page cache)
    settings = stack_control.production_uwsgi_settings()
    # The chat clients send faster than the per-socket rate limit allows
    # people to (CHAT_RATE_*): lift it to their schedule, or the figures
    # would be about refusals.
    settings |= {
        "CHAT_RATE_BURST": args.messages,
        "CHAT_RATE_PER_SECOND": max(1.0, 2 / args.interval),
    }
    with stack_control.benchmark_stack(**settings, NGINX_PAGE_CACHE_SECONDS=0) as stack:
        results["machine"]["other_containers"] = len(stack_control.other_containers(stack.project))
        if results["machine"]["other_containers"]:
            log(f"note: {results['machine']['other_containers']} other containers run on this engine")
        benchmark(stack, args, results)

    results["seconds"] = round(time.monotonic() - started, 1)
    cache_ttl = stack_control.compose_default("CACHE_TTL")
    rows = build_table(results)
    results["table"] = [
        dict(zip(("scenario", "baseline", "educa", "ratio"), row, strict=True)) for row in rows
    ]
    table = format_table(
        rows,
        [
            "baseline: HTTP rows = the same stack with CACHE_TTL=0; uWSGI rows = 1 worker x 1 thread;",
            "          chat rows = the same load in a room of 2 clients.",
        ],
        [
            f"educa:    Redis cache (CACHE_TTL {cache_ttl} s), uWSGI {workers} workers x {threads} threads,",
            f"          {args.students} chat clients x {args.messages} messages every {args.interval} s.",
            f"ratio = educa / baseline. {cores} cores shared by the stack and the load generators;",
            f"wrk: {args.connections} connections, {args.duration} s per run. "
            f"Whole run: {results['seconds']} s.",
        ],
    )
    print("\n" + table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nresults: {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
