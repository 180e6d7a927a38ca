"""The request id NGINX sends (X-Request-ID) on every log line the application writes for it."""

import io
import json
import logging
from contextlib import contextmanager

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings

from educa.request_id import NO_REQUEST, RequestIdFilter, WebSocketRequestId

pytestmark = pytest.mark.unit

REQUEST_ID = "3f1c0d9e8b7a46e5a4c3b2a1f0e9d8c7"


@contextmanager
def json_log_lines():
    """The root logger's records as the production settings write them: a list of dicts."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    formatter = settings.LOGGING["formatters"]["json"]
    options = {key: value for key, value in formatter.items() if key != "()"}
    from pythonjsonlogger.json import JsonFormatter

    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    lines = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_djangos_own_line_about_a_response_carries_the_request_id(client):
    """ "Not Found: ..." is written after the view returned, still inside the request."""
    with json_log_lines() as lines:
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 404
    [not_found] = [line for line in lines if line["message"] == "Not Found: /no-such-page/"]
    assert not_found["request_id"] == REQUEST_ID
    assert not_found["level"] == "WARNING" and not_found["logger"] == "django.request"
    assert not_found["time"].endswith("+00:00"), "the time is not ISO 8601 in UTC"


@pytest.mark.parametrize(
    "sent", ["", "short", "has space in it", "x" * 129, "<script>alert(1)</script>"], ids=repr
)
def test_an_id_that_is_not_a_plain_token_is_not_logged(client, sent):
    with json_log_lines() as lines:
        client.get("/no-such-page/", HTTP_X_REQUEST_ID=sent)
    [not_found] = [line for line in lines if line["message"].startswith("Not Found")]
    assert not_found["request_id"] == NO_REQUEST


def test_lines_outside_a_request_say_so(client):
    client.get("/no-such-page/", HTTP_X_REQUEST_ID=REQUEST_ID)
    with json_log_lines() as lines:
        logging.getLogger("educa.test").warning("between requests")
    assert lines[-1]["request_id"] == NO_REQUEST


async def test_a_websocket_keeps_its_handshakes_id_for_its_whole_life():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        logging.getLogger("educa.test").warning("a message on the socket")
        await send({"type": "websocket.send", "text": "ok"})

    communicator = WebsocketCommunicator(
        WebSocketRequestId(app), "/ws/chat/room/1/", headers=[(b"x-request-id", REQUEST_ID.encode())]
    )
    with json_log_lines() as lines:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_to(text_data="hello")
        assert await communicator.receive_from() == "ok"
        await communicator.disconnect()
    [line] = [line for line in lines if line["message"] == "a message on the socket"]
    assert line["request_id"] == REQUEST_ID
