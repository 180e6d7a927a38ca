"""The id NGINX gives each request, on every log line the application writes for it.

NGINX passes ``X-Request-ID`` to uWSGI and Daphne (its own id, or a plain
token the client sent), writes it in its access log and returns it to the
client; uWSGI's request log carries it too. Here it is kept in a context
variable while Django handles the request, from ``request_started`` to
``request_finished`` (so Django's own lines about the response, "Not Found:
..." or a 500's traceback, carry it as well), and for the whole life of a
chat WebSocket; ``RequestIdFilter`` puts it on every log record as
``request_id``, "-" outside a request.
"""

import contextvars
import logging
import re

from django.core.signals import request_finished, request_started

NO_REQUEST = "-"
# what NGINX lets through (config/nginx/templates/educa.conf.template); the
# same rule where no NGINX stands in front (runserver), so a header never
# writes anything but a plain token into a log line
_VALID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

current = contextvars.ContextVar("request_id", default=NO_REQUEST)


def _checked(value):
    return value if value and _VALID.fullmatch(value) else NO_REQUEST


def _started(sender, environ=None, scope=None, **kwargs):
    if environ is not None:
        current.set(_checked(environ.get("HTTP_X_REQUEST_ID")))
    elif scope is not None:
        current.set(_checked(_header(scope, b"x-request-id")))


def _finished(sender, **kwargs):
    current.set(NO_REQUEST)


def _header(scope, name):
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def connect_signals():
    request_started.connect(_started, dispatch_uid="educa.request_id.started")
    request_finished.connect(_finished, dispatch_uid="educa.request_id.finished")


class WebSocketRequestId:
    """ASGI middleware: the handshake's request id for everything logged while the socket lives."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        token = current.set(_checked(_header(scope, b"x-request-id")))
        try:
            return await self.app(scope, receive, send)
        finally:
            current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (the logging configuration's formatters print it)."""

    def filter(self, record):
        record.request_id = current.get()
        return True
