"""HTTP load with wrk against the stack's NGINX.

wrk is a C load generator: one process, an event loop per thread, keep-alive
connections. It is far cheaper per request than any Python client, which
matters here because it shares the machine's cores with the stack it measures.

wrk does not verify TLS certificates (it has no option to). That is acceptable
for a load generator talking to a stack on localhost that this script booted
itself: it measures speed, not trust. Everything else in the benchmark that
logs in, enrols or checks a page verifies the stack's certificate.
"""

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPORT_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"
JSON_PREFIX = "WRK_JSON "


class WrkMissing(RuntimeError):
    pass


def require_wrk():
    """The path of wrk, or WrkMissing saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing("wrk is not installed: apt-get install wrk")
    return path


@dataclass
class HttpResult:
    """One wrk run, reduced to what the report compares."""

    url: str
    connections: int
    seconds: float
    requests: int
    errors: dict
    latency_ms: dict
    # CPU seconds wrk itself used: the load generator shares the machine
    generator_cpu_seconds: float = 0.0
    # answers by status code ("200": n), when the run counted them
    statuses: dict | None = None

    @property
    def requests_per_second(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self):
        """Requests that did not complete or were answered 4xx/5xx."""
        return sum(self.errors.values())

    def as_dict(self):
        return {
            "url": self.url,
            "connections": self.connections,
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "requests_per_second": round(self.requests_per_second, 1),
            "errors": self.errors,
            "latency_ms": self.latency_ms,
            "generator_cpu_seconds": round(self.generator_cpu_seconds, 2),
            "statuses": self.statuses,
        }


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(url, duration, connections, threads=2, headers=(), timeout=30, count_statuses=False):
    """Load ``url`` for ``duration`` seconds with ``connections`` keep-alive connections.

    ``headers`` are "Name: value" strings sent with every request (e.g. the
    session cookie of a signed-in student). A request without an answer
    after ``timeout`` seconds counts as a timeout error instead of stalling
    the run. ``count_statuses`` counts the answers by status code as well
    (at some cost to wrk's own speed).
    """
    command = [
        require_wrk(),
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={duration}s",
        f"--timeout={timeout}s",
        f"--script={REPORT_SCRIPT}",
    ]
    for header in headers:
        command += ["--header", header]
    command.append(url)
    cpu_before = children_cpu_seconds()
    env = {**os.environ, "WRK_COUNT_STATUSES": "1"} if count_statuses else None
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, env=env)
    generator_cpu = children_cpu_seconds() - cpu_before
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(JSON_PREFIX)]
    if not lines:
        raise RuntimeError(f"wrk printed no summary:\n{completed.stdout}\n{completed.stderr}")
    summary = json.loads(lines[-1][len(JSON_PREFIX) :])
    latency = summary["latency_us"]
    return HttpResult(
        url=url,
        connections=connections,
        seconds=summary["duration_us"] / 1e6,
        requests=summary["requests"],
        errors=summary["errors"],
        latency_ms={name: round(value / 1000, 2) for name, value in latency.items()},
        generator_cpu_seconds=generator_cpu,
        statuses=summary["statuses"] if count_statuses else None,
    )
