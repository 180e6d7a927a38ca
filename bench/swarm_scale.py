"""Scale-out on Docker Swarm: what one, two and three web replicas serve on this machine.

    .venv/bin/python -m bench.swarm_scale                  # about 8 minutes
    .venv/bin/python -m bench.swarm_scale --replicas 1,2   # fewer steps

Deploys docker-stack.yml with bin/swarm-deploy on a single-node swarm (made
for the run and left after it, as the swarm tests do; an engine already in a
swarm stays in it), then for each replica count scales the web service,
waits until every task is running and loads it with wrk through NGINX: the
requests Django answers (``/healthz``, a signed-in student's player) and,
as the control, the catalogue from NGINX's page cache. Each
replica is uWSGI with the production layout (4 workers x 2 threads).

Printed beside each figure: failed requests (any answer other than 2xx/3xx,
or none within 10 s), the machine's load average as the run began and wrk's
own CPU. Results go to test-artifacts/bench/swarm_scale.json.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

from bench import stack_control
from bench.http_load import run_wrk
from bench.pages import CLIENT_TIMEOUT, aligned, request_kinds, warm
from bench.stack_control import log
from tests.support.swarm import SingleNodeSwarm, deploy_swarm_stack, docker
from tests.support.system import REPO

RESULTS = REPO / "test-artifacts" / "bench" / "swarm_scale.json"
# The API list is left out: wrk is one address, and NGINX's per-address API
# limit would answer most of it with 429 whatever the replicas.
KINDS = ("/healthz", "student's player", "catalogue /")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2,3", help="web replica counts, in order (1,2,3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per kind and replica count (20)")
    return parser.parse_args(argv)


def scale_web(stack, replicas):
    docker("service", "scale", "--detach=false", f"{stack.service('web')}={replicas}", timeout=300)
    running = stack.replicas("web").strip()
    if running != f"{replicas}/{replicas}":
        raise SystemExit(f"web did not reach {replicas} replicas: {running}")


def measure(stack, kind, args):
    load_before = os.getloadavg()[0]
    result = run_wrk(
        f"{stack.base_url}{kind.path}",
        args.duration,
        args.connections,
        headers=kind.headers,
        timeout=CLIENT_TIMEOUT,
    )
    outcome = result.as_dict()
    outcome.update(
        kind=kind.name,
        failed=result.failed,
        load_average_1min_before=round(load_before, 2),
        generator_cpu_percent=round(100 * result.generator_cpu_seconds / result.seconds, 1),
    )
    log(
        f"  {kind.name:18} {outcome['requests_per_second']:8.1f} req/s, "
        f"p50 {result.latency_ms['p50']:7.1f} ms, p99 {result.latency_ms['p99']:7.1f} ms, "
        f"failed {outcome['failed']}, load {load_before:.2f}, "
        f"wrk CPU {outcome['generator_cpu_percent']}%"
    )
    return outcome


def table(runs):
    """One block per replica count; each figure beside the same kind's with one replica."""
    header = ("web replicas, kind", "req/s", "p50 ms", "p99 ms", "failed", "/ first", "load", "wrk CPU")
    rows = [header]
    first = {outcome["kind"]: outcome["requests_per_second"] for outcome in runs[0]["outcomes"]}
    for run in runs:
        for outcome in run["outcomes"]:
            base = first[outcome["kind"]]
            rows.append(
                (
                    f"{run['replicas']}  {outcome['kind']}",
                    f"{outcome['requests_per_second']:.0f}",
                    f"{outcome['latency_ms']['p50']:.1f}",
                    f"{outcome['latency_ms']['p99']:.1f}",
                    str(outcome["failed"]),
                    f"{outcome['requests_per_second'] / base:.2f}" if base else "-",
                    f"{outcome['load_average_1min_before']:.2f}",
                    f"{outcome['generator_cpu_percent']}%",
                )
            )
    return aligned(rows)


def main(argv=None):
    args = parse_args(argv)
    counts = [int(count) for count in args.replicas.split(",")]
    stack_control.exit_unless_runnable(wrk=True)
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="educa-bench-"))
    swarm = SingleNodeSwarm()
    swarm.join()
    stack = None
    runs = []
    try:
        stack = deploy_swarm_stack(workdir)
        kinds = [kind for kind in request_kinds(stack) if kind.name in KINDS]
        for replicas in counts:
            scale_web(stack, replicas)
            log(f"web x {replicas}, {args.connections} connections, {args.duration} s a kind")
            warm(stack, kinds, args.connections)
            runs.append({"replicas": replicas, "outcomes": [measure(stack, kind, args) for kind in kinds]})
    except KeyboardInterrupt:
        log("interrupted")
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if stack is not None:
            log(f"removing swarm stack {stack.project}")
            stack.remove()
        swarm.leave()
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(runs))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "cpus": os.cpu_count(),
                "settings": vars(args),
                "runs": runs,
            },
            indent=2,
        )
    )
    failed = sum(outcome["failed"] for run in runs for outcome in run["outcomes"])
    if failed:
        raise SystemExit(f"{failed} requests failed")


if __name__ == "__main__":
    main()
