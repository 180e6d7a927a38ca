"""ASGI entry point, served by Daphne: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.prod")

# Django must be set up before the consumers (and their models) are imported.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402

from .health import HealthChecks  # noqa: E402
from .request_id import WebSocketRequestId  # noqa: E402
from .websocket import UnknownPathConsumer, allowed_origins  # noqa: E402

application = ProtocolTypeRouter(
    {
        # the container healthcheck's probes, on the event loop (health.HealthChecks)
        "http": HealthChecks(django_asgi_app),
        # Browsers send an Origin header; refusing foreign origins stops
        # cross-site WebSocket hijacking with the user's session cookie. The
        # list is exact: a page on another subdomain of the site is foreign too.
        "websocket": WebSocketRequestId(
            OriginValidator(
                AuthMiddlewareStack(
                    URLRouter([*websocket_urlpatterns, re_path(r"", UnknownPathConsumer.as_asgi())])
                ),
                allowed_origins(),
            )
        ),
    }
)
