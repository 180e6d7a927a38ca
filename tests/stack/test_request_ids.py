"""One request followed through the stack by the id NGINX gives it (X-Request-ID)."""

import json
import re
import secrets

import pytest

from tests.support.system import wait_until

pytestmark = pytest.mark.stack


def lines_with(stack, service, request_id):
    return [line for line in stack.logs(service, tail=400).splitlines() if request_id in line]


def test_a_requests_id_is_in_the_answer_and_in_nginx_uwsgi_and_django_lines(stack):
    with stack.client() as client:
        response = client.get("/no-such-page/", timeout=30)
    assert response.status_code == 404
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id

    # NGINX writes its access log once a second
    wait_until(lambda: lines_with(stack, "nginx", request_id), 30, f"{request_id} in NGINX's log")
    [access] = lines_with(stack, "nginx", request_id)
    assert '"GET /no-such-page/ HTTP/' in access and f"rid={request_id}" in access
    # its time and a level from the status, like every other service's lines: a 404 is a WARN
    _, _, line = access.partition("| ")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d WARN ", line), access

    web = lines_with(stack, "web", request_id)
    [request_line] = [line for line in web if f"rid={request_id}" in line and "GET /no-such-page/" in line]
    # uWSGI's request line starts the same way: time, and WARN for the 404
    _, _, line = request_line.partition("| ")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} WARN uwsgi.request: ", line), request_line
    # and uWSGI's own lines start with the time
    output = [line.partition("| ")[2] for line in stack.logs("web", tail=5000).splitlines()]
    workers = [line for line in output if "uWSGI worker" in line]
    stamped = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
    assert workers and all(re.match(stamped, line) for line in workers), workers
    django_lines = [json.loads(line.split("| ", 1)[1]) for line in web if '"request_id"' in line]
    assert {"message": "Not Found: /no-such-page/", "request_id": request_id} in [
        {"message": line["message"], "request_id": line["request_id"]} for line in django_lines
    ], web
    assert all({"time", "level", "logger"} <= line.keys() for line in django_lines)


def test_a_clients_plain_id_is_kept_and_anything_else_replaced(stack):
    sent = f"checkout-{secrets.token_hex(8)}"
    with stack.client() as client:
        kept = client.get("/", headers={"X-Request-ID": sent}, timeout=30)
        replaced = client.get("/", headers={"X-Request-ID": 'x" rid=forged'}, timeout=30)
    assert kept.headers["X-Request-ID"] == sent
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    wait_until(lambda: lines_with(stack, "nginx", sent), 30, f"{sent} in NGINX's log")
    assert not lines_with(stack, "nginx", "rid=forged")
