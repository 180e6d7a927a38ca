"""WebSocket addresses that lead nowhere, and the pages allowed to open a socket at all."""

from urllib.parse import urlparse

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import validate_host


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Refuse the handshake of a WebSocket path that no route matches.

    Without this last route channels' URLRouter raises ValueError, which
    Daphne answers with a 500 and an error traceback for every scanner that
    probes /ws/anything. Closing before accepting refuses the handshake with a
    403 instead, the same answer an unknown chat room gets.
    """

    async def connect(self):
        await self.close()


def allowed_origins():
    """The origins whose pages may open a WebSocket: exactly the site's own.

    ``https://SITE_DOMAIN``, with the public HTTPS port when it is not 443;
    the same with ``www.``, which the site serves as itself
    (courses.middleware.SITE_ALIASES) when ALLOWED_HOSTS lets that name in;
    and the origins the operator named in CSRF_TRUSTED_ORIGINS, except
    patterns (``*.`` or a leading dot). ALLOWED_HOSTS is no list of origins:
    its ``.example.com`` would let a page on any subdomain open the socket
    with the user's cookie. WEBSOCKET_ALLOWED_ORIGINS, when set, is used
    instead.
    """
    if settings.WEBSOCKET_ALLOWED_ORIGINS is not None:
        return list(settings.WEBSOCKET_ALLOWED_ORIGINS)
    from courses.middleware import SITE_ALIASES

    port = "" if settings.HTTPS_PORT == 443 else f":{settings.HTTPS_PORT}"
    hosts = [settings.SITE_DOMAIN]
    hosts += [
        f"{alias}.{settings.SITE_DOMAIN}"
        for alias in sorted(SITE_ALIASES)
        if validate_host(f"{alias}.{settings.SITE_DOMAIN}", settings.ALLOWED_HOSTS)
    ]
    origins = [f"https://{host}{port}" for host in hosts]
    for origin in settings.WEBSOCKET_TRUSTED_ORIGINS:
        host = urlparse(origin).hostname or ""
        if host and "*" not in host and not host.startswith(".") and origin not in origins:
            origins.append(origin)
    return origins
