"""Bad input through NGINX: every malformed or hostile request gets a 4xx, never a 500.

One test per kind of bad input, on the shared stack: broken HTTP sent over a
raw TLS socket, oversized headers and bodies, unknown hosts and ids, invalid
JSON to the CMS, hostile WebSocket frames, markup where text belongs, path
traversal and SQL-looking slugs. Each one asserts the refusal the user (or
attacker) sees and that the site still serves its catalogue afterwards.
"""

import contextlib
import json
import re
import secrets
import socket
import ssl
from dataclasses import dataclass

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.journeys import instructor_with_course, new_student

pytestmark = pytest.mark.stack

MISSING = 987654321
# Larger than any id column (bigint): must still be a 404, not a database error.
OUT_OF_RANGE = 10**20
SCRIPT = "<script>alert(1)</script>"


@dataclass
class Actors:
    instructor: requests.Session
    student: requests.Session
    course: int
    course_slug: str
    module: int
    subject: int
    subject_slug: str


@pytest.fixture(scope="module")
def actors(stack):
    """An instructor with a course of one module, and a student enrolled in it."""
    teacher = instructor_with_course(stack, modules=("The only module",))
    _, student = new_student(stack, "learner")
    assert student.enrol(teacher.slug) == teacher.course
    return Actors(
        teacher.client,
        student,
        teacher.course,
        teacher.slug,
        teacher.modules[0],
        teacher.subject,
        teacher.subject_slug,
    )


def assert_site_still_serves(stack):
    response = stack.client().get(f"{stack.base_url}/", timeout=30)
    assert response.status_code == 200, f"after the bad request the catalogue answers {response.status_code}"


def csrf_headers(session, stack, page):
    """Headers the site's own scripts send with a POST from ``page``: CSRF token and Referer."""
    response = session.get(f"{stack.base_url}{page}", timeout=30)
    assert response.status_code == 200, f"GET {page}: {response.status_code}"
    token = session.cookies.get("csrftoken")
    assert token, f"GET {page} set no csrftoken cookie"
    return {"X-CSRFToken": token, "Referer": f"{stack.base_url}{page}"}


# --- Broken HTTP, over a raw TLS socket --------------------------------------------


def raw_exchange(stack, request, timeout=20):
    """Send ``request`` bytes over TLS as they are; return the status code and the whole answer."""
    context = stack.ssl_context()
    with (
        socket.create_connection(("localhost", stack.https_port), timeout=timeout) as plain,
        context.wrap_socket(plain, server_hostname="localhost") as tls,
    ):
        # NGINX may answer and close before reading everything: its answer is still there
        with contextlib.suppress(ssl.SSLError, OSError):
            tls.sendall(request)
        answer = b""
        try:
            while chunk := tls.recv(65536):
                answer += chunk
        except (ssl.SSLError, ConnectionResetError):
            pass
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    found = re.match(r"HTTP/1\.[01] (\d{3}) ", status_line)
    assert found, f"no HTTP answer to {request[:80]!r}: {answer[:200]!r}"
    return int(found[1]), answer


HOST = b"Host: localhost\r\nConnection: close\r\n"
HEADER_TOO_LARGE = {400, 431, 494}


def request(line, *headers, body=b"", host=HOST):
    return line + b"\r\n" + host + b"".join(header + b"\r\n" for header in headers) + b"\r\n" + body


MALFORMED_REQUESTS = [
    pytest.param(request(b"GET / HTTP/1.1", b"This line has no colon"), {400}, id="header-without-colon"),
    pytest.param(request(b"GET / HTTP/1.1", b"X-Test : value"), {400}, id="space-before-header-colon"),
    pytest.param(request(b"GET / HTTP/1.1", b"X-Test: a", b" folded onto two lines"), {400}, id="obs-fold"),
    pytest.param(request(b"GET / HTTP/1.1", b"X-Te\x01st: a"), {400}, id="control-char-in-header-name"),
    pytest.param(request(b"GET / HTTP/1.1", b"X-Test: a\x00b"), {400}, id="nul-in-header-value"),
    pytest.param(request(b"G@T / HTTP/1.1"), {400}, id="invalid-method-characters"),
    # a well-formed but unknown method reaches Django, which refuses it
    pytest.param(request(b"BREW / HTTP/1.1"), set(range(400, 500)), id="unknown-method"),
    pytest.param(request(b"GET / HTTP/1.x"), {400}, id="malformed-http-version"),
    pytest.param(request(b"GET / HTTPS/1.1"), {400}, id="wrong-protocol-name"),
    # 505 is HTTP's own answer to a well-formed version it does not speak
    pytest.param(request(b"GET / HTTP/9.9"), {505}, id="unsupported-http-version"),
    pytest.param(b"\x00\x01\x02 not http at all\r\n\r\n", {400}, id="not-http-at-all"),
    pytest.param(
        request(b"GET / HTTP/1.1", b"Cookie: big=" + b"x" * 65536), HEADER_TOO_LARGE, id="64k-cookie"
    ),
    pytest.param(request(b"GET / HTTP/1.1", b"X-Big: " + b"x" * 65536), HEADER_TOO_LARGE, id="64k-header"),
    pytest.param(
        request(b"GET / HTTP/1.1", *(b"X-H%d: %s" % (n, b"y" * 1000) for n in range(200))),
        HEADER_TOO_LARGE,
        id="200-headers-of-1k",
    ),
    pytest.param(request(b"GET /?q=" + b"q" * 70000 + b" HTTP/1.1"), {414}, id="70k-url"),
    pytest.param(
        request(b"GET / HTTP/1.1", host=b"Host: evil.example\r\nConnection: close\r\n"),
        {400},
        id="unknown-host",
    ),
    pytest.param(request(b"GET / HTTP/1.1", host=b"Connection: close\r\n"), {400}, id="no-host"),
    pytest.param(request(b"GET / HTTP/1.1", b"Host: evil.example"), {400}, id="two-hosts"),
    pytest.param(
        request(b"POST /students/register/ HTTP/1.1", b"Content-Length: 104857600"),
        {413},
        id="100mb-declared-body",
    ),
    pytest.param(
        request(
            b"POST /students/register/ HTTP/1.1",
            b"Transfer-Encoding: chunked",
            body=b"%x\r\n%s\r\n0\r\n\r\n" % (4 * 1024 * 1024, b"a" * (4 * 1024 * 1024)),
        ),
        {413},
        id="4mb-chunked-body",
    ),
    pytest.param(
        request(b"POST / HTTP/1.1", b"Content-Length: 3", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
        {400},
        id="length-and-chunked-smuggling",
    ),
    pytest.param(
        request(b"POST / HTTP/1.1", b"Content-Length: 1", b"Content-Length: 2", body=b"ab"),
        {400},
        id="two-content-lengths",
    ),
    pytest.param(request(b"POST / HTTP/1.1", b"Content-Length: abc"), {400}, id="non-numeric-content-length"),
]


@pytest.mark.parametrize(("raw", "expected"), MALFORMED_REQUESTS)
def test_malformed_http_is_refused(stack, raw, expected):
    status, answer = raw_exchange(stack, raw)
    assert status in expected, f"answered {status}, expected one of {sorted(expected)}: {answer[:300]!r}"
    assert_site_still_serves(stack)


# --- Files from outside the static and media folders ----------------------------------

TRAVERSALS = [
    "/static/../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/..%2f..%2fapp/educa/educa/settings/prod.py",
    "/static/css/../../../../../app/educa/manage.py",
    "/media/../../etc/passwd",
    "/media/%2e%2e/%2e%2e/etc/passwd",
    "/media/..%2f..%2f..%2fetc%2fpasswd",
    "/media/courses/..%2f..%2f..%2f..%2fapp%2feduca%2fmanage.py",
    "/media/%252e%252e/%252e%252e/etc/passwd",
    "/protected-media/../../etc/passwd",
    "/protected-media/courses/anything.pdf",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_serves_no_file(stack, actors, path):
    """Neither NGINX nor Django hands out a file from outside the static and media folders.

    Sent byte for byte (no client-side normalisation), by a signed-in student
    so that /media/ requests reach Django's own checks.
    """
    cookie = "; ".join(f"{name}={value}" for name, value in actors.student.cookies.items())
    status, answer = raw_exchange(
        stack, request(b"GET " + path.encode() + b" HTTP/1.1", b"Cookie: " + cookie.encode())
    )
    assert status in {400, 404}, f"{path} answered {status}"
    for secret_marker in (b"root:x:0:0", b"SECRET_KEY", b"DJANGO_SETTINGS_MODULE"):
        assert secret_marker not in answer, f"{path} leaked a file"
    assert_site_still_serves(stack)


@pytest.mark.parametrize(
    "path",
    [
        "/course/'%20OR%201=1--/",
        "/course/subject/'%20OR%20'1'='1/",
        "/api/courses/1%20OR%201=1/",
        "/course/1;DROP%20TABLE/",
    ],
)
def test_sql_looking_addresses_are_not_found(stack, path):
    response = stack.client().get(f"{stack.base_url}{path}", timeout=30, allow_redirects=False)
    assert response.status_code == 404
    assert_site_still_serves(stack)


# --- The CMS's JSON endpoints ------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["/course/module/order/", "/course/content/order/"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json at all", id="not-json"),
        pytest.param(b'{"1": 0,', id="truncated-json"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b"[]", id="a-list"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b'{"abc": 1}', id="id-not-a-number"),
        pytest.param(b'{"1": -1}', id="negative-position"),
        pytest.param(b'{"1": "first"}', id="position-not-a-number"),
        pytest.param(b'{"1": 99999999999999999999}', id="position-out-of-range"),
        pytest.param(b'{"%d": 0}' % OUT_OF_RANGE, id="id-out-of-range"),
    ],
)
def test_reorder_endpoints_refuse_invalid_json(stack, actors, endpoint, body):
    """The drag-and-drop endpoints answer 400 with a JSON reason, with a valid CSRF token and session."""
    headers = csrf_headers(actors.instructor, stack, f"/course/module/{actors.module}/")
    response = actors.instructor.post(
        f"{stack.base_url}{endpoint}",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, f"{endpoint} {body!r}: {response.status_code} {response.text[:200]}"
    assert response.json()["error"]
    assert_site_still_serves(stack)


@pytest.mark.parametrize("model_name", ["unknown", "course", "user", "..", "TEXT"])
def test_unknown_content_type_in_the_cms_is_not_found(stack, actors, model_name):
    url = f"{stack.base_url}/course/module/{actors.module}/content/{model_name}/create/"
    response = actors.instructor.get(url, timeout=30, allow_redirects=False)
    assert response.status_code == 404
    assert_site_still_serves(stack)


# --- Ids that do not exist ----------------------------------------------------------------

MISSING_IDS = [
    # (who asks, method, path); {course} and {module} are the actors' own
    ("instructor", "GET", f"/course/{MISSING}/edit/"),
    ("instructor", "GET", f"/course/{OUT_OF_RANGE}/edit/"),
    ("instructor", "GET", f"/course/{MISSING}/module/"),
    ("instructor", "POST", f"/course/{MISSING}/delete/"),
    ("instructor", "GET", f"/course/module/{MISSING}/"),
    ("instructor", "GET", f"/course/module/{OUT_OF_RANGE}/"),
    ("instructor", "GET", f"/course/module/{MISSING}/content/text/create/"),
    ("instructor", "GET", f"/course/module/{{module}}/content/text/{MISSING}/"),
    ("instructor", "POST", f"/course/content/{MISSING}/delete/"),
    ("anonymous", "GET", "/course/no-such-course/"),
    ("anonymous", "GET", "/course/subject/no-such-subject/"),
    ("student", "GET", f"/students/course/{MISSING}/"),
    ("student", "GET", f"/students/course/{OUT_OF_RANGE}/"),
    ("student", "GET", f"/students/course/{{course}}/{MISSING}/"),
    ("student", "GET", f"/students/course/{{course}}/{OUT_OF_RANGE}/"),
    ("student", "POST", "/students/enroll-course/"),
    ("student", "GET", f"/chat/room/{MISSING}/"),
    ("student", "GET", f"/chat/room/{OUT_OF_RANGE}/"),
    ("anonymous", "GET", f"/api/courses/{MISSING}/"),
    ("anonymous", "GET", f"/api/courses/{OUT_OF_RANGE}/"),
    ("anonymous", "GET", f"/api/subjects/{MISSING}/"),
    ("student", "GET", f"/api/courses/{MISSING}/contents/"),
    ("student", "POST", f"/api/courses/{MISSING}/enroll/"),
]


@pytest.mark.parametrize(("who", "method", "path"), MISSING_IDS, ids=[f"{m} {p}" for _, m, p in MISSING_IDS])
def test_ids_that_do_not_exist_are_not_found(stack, actors, who, method, path):
    path = path.format(course=actors.course, module=actors.module)
    session = {"instructor": actors.instructor, "student": actors.student}.get(who) or stack.client()
    url = f"{stack.base_url}{path}"
    if method == "GET":
        response = session.get(url, timeout=30, allow_redirects=False)
    else:
        headers = csrf_headers(session, stack, "/students/courses/")
        # the enrolment form posts the id as a field; the others need none
        data = {"course_id": str(MISSING), "csrfmiddlewaretoken": headers["X-CSRFToken"]}
        response = session.post(url, data=data, headers=headers, timeout=30, allow_redirects=False)
    assert response.status_code == 404, f"{who} {method} {path}: {response.status_code}"
    assert_site_still_serves(stack)


# --- Markup where text belongs ---------------------------------------------------------------


def test_markup_in_course_fields_is_shown_as_text(stack, actors):
    """A course titled and described with HTML is created through the CMS and shown escaped everywhere."""
    token = secrets.token_hex(3)
    title = f"{SCRIPT} Markup {token}"
    overview = f'<img src=x onerror="alert(2)"> {SCRIPT} overview {token}'
    slug = f"markup-{token}"
    created = actors.instructor.post_form(
        "/course/create/",
        {"subject": actors.subject, "title": title, "slug": slug, "overview": overview},
    )
    assert created.status_code == 302, f"course creation refused: {created.status_code}"

    visitor = stack.client()
    for page in ("/", f"/course/subject/{actors.subject_slug}/", f"/course/{slug}/"):
        html = visitor.get(f"{stack.base_url}{page}", timeout=30).text
        assert f"&lt;script&gt;alert(1)&lt;/script&gt; Markup {token}" in html, f"{page} lost the title"
        assert SCRIPT not in html, f"{page} contains the title's script as markup"
        assert "<img src=x" not in html, f"{page} contains the overview's image as markup"
    detail = visitor.get(f"{stack.base_url}/course/{slug}/", timeout=30).text
    assert "&lt;img src=x onerror=" in detail

    # the API hands out the text as JSON data, which a browser never runs
    api = visitor.get(f"{stack.base_url}/api/courses/", timeout=30)
    assert api.headers["Content-Type"].startswith("application/json")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert title in [course["title"] for course in api.json()["results"]]
    assert_site_still_serves(stack)


def test_markup_in_chat_messages_is_delivered_and_shown_as_text(stack, actors):
    text = f"{SCRIPT}<b>bold</b> {secrets.token_hex(3)}"
    with stack.chat(actors.course, actors.student) as socket:
        socket.send(json.dumps({"message": text}))
        assert socket.receive_json()["message"] == text

    room = actors.student.get(f"{stack.base_url}/chat/room/{actors.course}/", timeout=30).text
    escaped = text.replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in room
    assert SCRIPT not in room
    assert_site_still_serves(stack)


# --- Hostile WebSocket frames -------------------------------------------------------------------


def chat_still_works(stack, actors):
    text = f"still here {secrets.token_hex(3)}"
    with stack.chat(actors.course, actors.student) as socket:
        socket.send(json.dumps({"message": text}))
        assert socket.receive_json()["message"] == text


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        pytest.param("hello, not JSON", "JSON", id="not-json"),
        pytest.param("[1, 2]", "JSON", id="json-list"),
        pytest.param('{"text": "wrong key"}', "JSON", id="wrong-key"),
        pytest.param('{"message": 5}', "JSON", id="message-not-text"),
        pytest.param(b"\x00\x01\x02 binary", "text frames", id="binary-frame"),
        pytest.param(json.dumps({"message": "x" * 2001}), "limited", id="one-character-too-long"),
    ],
)
def test_bad_chat_frames_get_an_error_and_the_connection_stays_usable(stack, actors, frame, reason):
    with stack.chat(actors.course, actors.student) as socket:
        socket.send(frame)
        answer = socket.receive_json()
        assert reason in answer.get("error", ""), f"answer to a bad frame: {answer}"
        text = f"after a bad frame {secrets.token_hex(3)}"
        socket.send(json.dumps({"message": text}))
        assert socket.receive_json()["message"] == text
    assert_site_still_serves(stack)


def closing_code(socket, frame):
    """Send ``frame`` and return the close code the connection ends with (1006: dropped without one)."""
    try:
        socket.send(frame)
        while True:
            socket.recv(timeout=15)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else 1006


def test_chat_message_far_over_the_size_limit_closes_with_4009(stack, actors):
    """A frame no page of ours would send (20 000 characters) closes the connection with 4009."""
    with stack.chat(actors.course, actors.student) as socket:
        assert closing_code(socket, json.dumps({"message": "x" * 20000})) == 4009
    chat_still_works(stack, actors)
    assert_site_still_serves(stack)


def test_frame_over_daphnes_limit_drops_only_that_connection(stack, actors):
    """A 100 KB frame exceeds Daphne's own limit: that connection ends, the server carries on.

    Daphne fails the connection at the protocol level (1009, or an abrupt
    close once NGINX sees the reset), before the application sees the frame.
    """
    with stack.chat(actors.course, actors.student) as socket:
        assert closing_code(socket, "y" * 100_000) in {1006, 1009}
    chat_still_works(stack, actors)
    assert_site_still_serves(stack)


@pytest.mark.parametrize(
    "path",
    [
        f"/ws/chat/room/{MISSING}/",
        f"/ws/chat/room/{OUT_OF_RANGE}/",
        "/ws/chat/room/abc/",
        "/ws/chat/room/1/extra/",
        "/ws/nowhere/",
        "/ws/",
    ],
)
def test_websocket_to_unknown_rooms_and_paths_is_refused(stack, actors, path):
    """A handshake for a room or path that does not exist is refused with a 403, not a server error."""
    with pytest.raises(InvalidStatus) as refused, stack.chat(None, actors.student, path=path):
        pass
    assert refused.value.response.status_code == 403
    chat_still_works(stack, actors)
    assert_site_still_serves(stack)
