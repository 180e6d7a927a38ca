"""Errors reach Sentry through sentry-sdk when SENTRY_DSN is set: a local endpoint receives the event.

The production settings run in a manage.py process of their own; the
endpoint is a small HTTP server of the test's, at the address the DSN names,
so the real client sends a real envelope over HTTP.
"""

import gzip
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.settings import PROD_ENV, clean_environment
from tests.support.system import MANAGE, PROJECT_DIR

pytestmark = pytest.mark.unit

REQUEST_ID = "5e0c7d2a9b8f4e31a6d4c2b0f9e8d7c6"
# A library's frame that holds the Redis password when the error happens,
# logged at ERROR with its traceback, as the application logs a failure.
FAILING_REQUEST = f"""
import logging
from django.conf import settings
from educa.request_id import current
import sentry_sdk

current.set({REQUEST_ID!r})

def log_in(password):
    auth_args = ("educa", password)
    raise ConnectionError("the cache refused the login")

try:
    log_in(settings.CACHES["default"]["OPTIONS"]["password"])
except ConnectionError:
    logging.getLogger("courses.cache").exception("the cache failed while rendering /course/mine/")
sentry_sdk.flush(10)
"""


class Endpoint(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_endpoint():
    Endpoint.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, Endpoint.received
    server.shutdown()
    server.server_close()


def events(received):
    """The event payloads of the envelopes received (a header line, then item headers and payloads)."""
    found = []
    for _, body in received:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


def test_an_error_reaches_sentry_tagged_and_without_the_secrets(sentry_endpoint):
    server, received = sentry_endpoint
    dsn = f"http://publickey@127.0.0.1:{server.server_port}/42"
    env = clean_environment(**PROD_ENV, SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="staging")
    result = subprocess.run(
        [sys.executable, str(MANAGE), "shell", "-c", FAILING_REQUEST],
        env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert received, "nothing reached the Sentry endpoint"
    assert all(path == "/api/42/envelope/" for path, _ in received)
    [event] = events(received)
    assert event["exception"]["values"][-1]["type"] == "ConnectionError"
    assert event["level"] == "error"
    assert event["environment"] == "staging"
    assert event["tags"]["request_id"] == REQUEST_ID
    raw = b"".join(body for _, body in received).decode()
    for name in ("REDIS_PASSWORD", "POSTGRES_PASSWORD", "SECRET_KEY"):
        assert PROD_ENV[name] not in raw, f"{name} reached Sentry"
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "log_in"
    assert "*****" in json.dumps(frame["vars"]), frame["vars"]


def test_without_a_dsn_nothing_is_sent(sentry_endpoint):
    _, received = sentry_endpoint
    env = clean_environment(**PROD_ENV)
    result = subprocess.run(
        [sys.executable, str(MANAGE), "shell", "-c", FAILING_REQUEST],
        env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the cache failed while rendering /course/mine/" in result.stderr
    assert received == []
