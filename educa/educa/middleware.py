"""Answer "503 Service Unavailable" while the database cannot be reached.

When PostgreSQL restarts or fails over, every page that touches the database
(signed-in users' sessions, the CMS, the course player) raises
``OperationalError``. Left alone that becomes a 500: an "internal error" page,
an error report to the admins for every request, and no hint to clients or
monitoring that the condition is temporary. A 503 with ``Retry-After`` says
exactly that, and the page itself needs nothing from the database.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait; a database restart takes a few.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        # OperationalError: the server is unreachable, refuses connections or is
        # shutting down. InterfaceError: the connection this process held was
        # closed under it. Programming errors and bad data stay 500s.
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        # Rendered without the request: the context processors would look up
        # the session and the user, which live in the unavailable database.
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
