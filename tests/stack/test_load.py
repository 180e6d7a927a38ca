"""No failed request under load, through NGINX, while uWSGI recycles its workers.

The short mode of bench/pages.py against the shared stack: every kind of
request (a static file, the cached anonymous pages, a student's player, an
API list, /healthz) at 128 connections. Every answer must be 2xx or 3xx and
none may time out (the API list may also be refused with 429: from one
address, the load is over NGINX's per-address API rate by design); at least
one worker must be recycled during the run (max-requests), so recycling
under load is part of what passes. Speed is printed, never asserted.
"""

import pytest

from bench.http_load import WrkMissing, require_wrk
from bench.pages import assert_no_failures, request_kinds

pytestmark = pytest.mark.stack

CONNECTIONS = 128
SECONDS_PER_KIND = 8


def test_no_request_fails_at_128_connections(stack):
    try:
        require_wrk()
    except WrkMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    assert_no_failures(stack, request_kinds(stack), CONNECTIONS, SECONDS_PER_KIND)
