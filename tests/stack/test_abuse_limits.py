"""Attacks at volume, through NGINX, and what stops each: the site keeps serving everybody else.

The test client's requests all reach NGINX from one address; the "other
client" of these tests is tests.support.neighbour, which has another. The
limits are the production defaults (docker-compose.yml, .env.example).
"""

import math
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import neighbour
from tests.support.journeys import (
    PASSWORD,
    enrolled_student,
    instructor_with_course,
    load_demo_courses,
    new_student,
)

pytestmark = pytest.mark.stack

LOGIN = "/accounts/login/"
UPLOAD = "/course/module/1/content/file/create/"
# the defaults of NGINX_LOGIN_RATE (a minute), NGINX_LOGIN_BURST and LOGIN_FAILURE_LIMIT
LOGIN_RATE = 20
LOGIN_BURST = 20
FAILURE_LIMIT = 5
# NGINX's Retry-After for the sign-in forms: the seconds until the next attempt is let through
NGINX_SIGN_IN_RETRY_AFTER = math.ceil(60 / LOGIN_RATE)


def test_password_guessing_is_refused_while_others_sign_in(stack):
    victim, _ = new_student(stack, "victim")
    other, _ = new_student(stack, "other")

    started = time.monotonic()
    answers = neighbour.sign_in(stack, victim, "not-the-password", times=50)
    seconds = time.monotonic() - started
    statuses = [status for status, _ in answers]
    print(f"50 wrong passwords from one address in {seconds:.1f} s: {statuses}")

    # the form again until django-axes locks the account for that address...
    assert statuses[: FAILURE_LIMIT - 1] == [200] * (FAILURE_LIMIT - 1)
    # ...after which every answer is a 429: the lockout, then NGINX's limit
    assert set(statuses[FAILURE_LIMIT - 1 :]) == {429}
    retry_afters = {retry for status, retry in answers if status == 429}
    assert all(retry and retry > 0 for retry in retry_afters), answers
    by_nginx = [retry for status, retry in answers if status == 429 and retry == NGINX_SIGN_IN_RETRY_AFTER]
    assert len(by_nginx) >= 50 - LOGIN_BURST - 1 - 5, "NGINX let most of the flood through to Django"

    # the attacker's address is still refused, even with the right password
    assert neighbour.sign_in(stack, victim, PASSWORD)[0][0] == 429

    # another account, and the victim on their own device, sign in at once
    stack.client().log_in(other, PASSWORD)
    stack.client().log_in(victim, PASSWORD)


def test_a_locked_account_waits_or_is_unlocked_by_an_admin(stack):
    username, _ = new_student(stack, "forgetful")
    client = stack.client()
    for attempt in range(FAILURE_LIMIT):
        response = client.post_form(LOGIN, {"username": username, "password": "wrong"})
        assert response.status_code == (429 if attempt == FAILURE_LIMIT - 1 else 200)
    locked = client.post_form(LOGIN, {"username": username, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many attempts" in locked.text
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert "sessionid" not in client.cookies

    stack.manage("axes_reset_username", username)
    stack.client().log_in(username, PASSWORD)


def test_an_api_flood_gets_json_429s_and_others_are_served(stack):
    client = stack.client()

    def fetch(_):
        return client.copy().get("/api/subjects/")

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(fetch, range(150)))
    statuses = sorted({answer.status_code for answer in answers})
    refused = [answer for answer in answers if answer.status_code == 429]
    print(f"150 API requests at once from one address: {len(refused)} refused, statuses {statuses}")
    assert statuses == [200, 429]
    for answer in refused:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["detail"].startswith("Too many requests")

    # another address is served in the meantime, and this one a moment later
    assert neighbour.get(stack, "/api/subjects/") == [(200, None)]
    time.sleep(2)
    assert client.get("/api/subjects/").status_code == 200


def test_a_student_browsing_briskly_never_meets_a_limit(stack):
    load_demo_courses(stack)
    username, student, course = enrolled_student(stack, "brisk")
    pages = [
        "/",
        "/course/subject/programming/",
        "/course/python-from-scratch/",
        "/students/courses/",
        f"/students/course/{course}/",
        f"/chat/room/{course}/",
        "/api/courses/",
        f"/api/courses/{course}/contents/",
        "/api/subjects/",
    ]
    player = student.get(f"/students/course/{course}/")
    modules = sorted(set(re.findall(rf"/students/course/{course}/(\d+)/", player.text)))
    pages += [f"/students/course/{course}/{module}/" for module in modules]
    # every page of the course, three times over, as fast as one person clicks (faster)
    statuses = [student.get(page).status_code for _ in range(3) for page in pages]
    assert set(statuses) == {200}, list(zip(pages * 3, statuses, strict=True))
    # signing out and in again is no attempt at guessing either
    token, referer = student.csrf_token(), student.url("/")
    student.post("/accounts/logout/", data={"csrfmiddlewaretoken": token}, headers={"Referer": referer})
    stack.client().log_in(username, PASSWORD)


def test_big_bodies_are_refused_except_where_files_are_uploaded(stack):
    teacher = instructor_with_course(stack, "uploader")
    module = teacher.modules[0]
    # over the 1 MB every other request may send, within UPLOAD_MAX_MB (the
    # test stack's is 2)
    assert int(stack.env["UPLOAD_MAX_MB"]) >= 2
    big = b"0" * (3 * 1024 * 1024 // 2)

    # a file upload takes it, any other form does not (NGINX's 413, before
    # Django or its CSRF check reads a byte)
    upload = teacher.client.post_form(
        f"/course/module/{module}/content/file/create/",
        {"title": "Handbook"},
        files={"file": ("handbook.pdf", b"%PDF-1.4\n" + big, "application/pdf")},
    )
    assert upload.status_code == 302, upload.text[:500]
    for path, form in ((LOGIN, LOGIN), (f"/course/module/{module}/content/text/create/", None)):
        response = teacher.client.post_form(path, {"content": big.decode()}, form_path=form)
        assert response.status_code == 413, path
    # and the site goes on
    assert stack.client().get("/").status_code == 200


def _tls_connection(stack):
    raw = socket.create_connection(("127.0.0.1", stack.https_port), timeout=10)
    return stack.ssl_context().wrap_socket(raw, server_hostname=stack.host)


def _answer_or_closed(connection, seconds):
    """What NGINX sent back within ``seconds``: the status line, "closed", or None (nothing yet)."""
    connection.settimeout(seconds)
    try:
        data = connection.recv(4096)
    except (TimeoutError, ssl.SSLWantReadError):
        return None
    except OSError:
        return "closed"
    return data.split(b"\r\n", 1)[0].decode() if data else "closed"


def test_slow_clients_hold_nothing_others_need(stack):
    """Slowloris from one address: hundreds of connections that never finish a request."""
    half_headers, slow_bodies = [], []
    try:
        # headers that never end (the classic slowloris)...
        for _ in range(250):
            connection = _tls_connection(stack)
            connection.sendall(f"GET / HTTP/1.1\r\nHost: {stack.host}\r\nX-Slow: 1\r\n".encode())
            half_headers.append(connection)
        # ...and complete requests whose body never comes (uploads that stall)
        for _ in range(250):
            connection = _tls_connection(stack)
            connection.sendall(
                f"POST {UPLOAD} HTTP/1.1\r\nHost: {stack.host}\r\nContent-Length: 100000\r\n\r\n".encode()
            )
            slow_bodies.append(connection)

        # past NGINX_CONN_PER_ADDRESS (200) requests in progress, the address is refused
        answers = [_answer_or_closed(connection, 0.05) for connection in slow_bodies]
        refused = [answer for answer in answers if answer and " 429 " in answer]
        print(f"slow bodies: {len(refused)} of {len(slow_bodies)} refused at once")
        assert len(refused) >= 250 - 200 - 5, answers

        # another client is served meanwhile, Django pages included
        assert neighbour.get(stack, "/", LOGIN, "/api/subjects/") == [(200, None)] * 3

        # NGINX ends the unfinished headers itself (client_header_timeout 10 s)
        time.sleep(11)
        ended = [_answer_or_closed(connection, 5) for connection in half_headers]
        assert all(ended), f"{ended.count(None)} half-open connections still held after the timeout"
    finally:
        for connection in half_headers + slow_bodies:
            connection.close()
    # and once they are gone, the address itself is served again
    time.sleep(1)
    assert stack.client().get("/").status_code == 200
