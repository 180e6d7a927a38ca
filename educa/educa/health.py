"""Liveness and readiness probes.

``/healthz`` says the process answers and touches nothing else. ``/readyz``
checks the database, the cache and the channel layer and answers 503 naming
the ones that fail. Both are answered here, before host validation and the
HTTPS redirect, so container healthchecks can call them over plain HTTP on
any address: by a Django middleware in uWSGI, and by an ASGI application
on Daphne's event loop (``HealthChecks``, which says why).
"""

import asyncio
import json
import logging
import uuid

from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache(alias=DEFAULT_CACHE_ALIAS):
    """A write, a read and a delete in one cache (the default one for /readyz; doctor tries each)."""
    cache = caches[alias]
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=5)
    if cache.get(key) != "ok":
        raise RuntimeError("value written was not read back")
    cache.delete(key)


# How long the channel layer's round trip may take before it counts as failing.
CHANNEL_LAYER_TIMEOUT = 5
# Redis Pub/Sub keeps nothing for a subscription it has not registered yet,
# and subscribing does not wait for Redis to confirm: the ping is sent again
# at this interval until one arrives.
CHANNEL_LAYER_RESEND = 0.2


async def channel_layer_round_trip(layer, text="ping"):
    """Send a message to a new channel of ``layer`` and return it as received."""
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    try:
        async with asyncio.timeout(CHANNEL_LAYER_TIMEOUT):
            while not receiving.done():
                await layer.send(channel, {"type": "readyz.ping", "text": text})
                await asyncio.wait({receiving}, timeout=CHANNEL_LAYER_RESEND)
    finally:
        receiving.cancel()
        await asyncio.gather(receiving, return_exceptions=True)
    return receiving.result()


async def acheck_channel_layer():
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    if (await channel_layer_round_trip(layer)).get("type") != "readyz.ping":
        raise RuntimeError("message sent was not received")


def check_channel_layer():
    async_to_sync(acheck_channel_layer)()


CHECKS = {"database": check_database, "cache": check_cache, "channel_layer": check_channel_layer}
# The same checks for an event loop: the sync ones in Django's thread (the
# database's with channels' handling of stale connections), the channel
# layer's on the loop itself.
ASYNC_CHECKS = {
    "database": database_sync_to_async(check_database),
    "cache": sync_to_async(check_cache),
    "channel_layer": acheck_channel_layer,
}


def _failed(name, exc):
    """Log why a check failed; the answer names what fails but not why.

    Error texts carry internal host names and addresses, and NGINX's
    loopback server is not the only way to reach a process; ``manage.py
    doctor`` explains a failure.
    """
    logger.warning("readiness check %s failed: %s: %s", name, exc.__class__.__name__, exc)
    return "error"


def readiness():
    """Run every check; return a dict of name -> "ok" or "error"."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a probe reports failures, it never raises
            results[name] = _failed(name, exc)
    return results


async def areadiness():
    """``readiness()`` on an event loop."""
    results = {}
    for name, check in ASYNC_CHECKS.items():
        try:
            await check()
            results[name] = "ok"
        except Exception as exc:  # a probe reports failures, it never raises
            results[name] = _failed(name, exc)
    return results


def readiness_answer(results):
    """The status code and JSON body of /readyz for ``results``."""
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "ok" if not failing else "unavailable", "checks": results}
    if failing:
        body["failing"] = failing
    return (503 if failing else 200), body


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            status, body = readiness_answer(readiness())
            return JsonResponse(body, status=status)
        return self.get_response(request)


class HealthChecks:
    """Daphne's probes, answered on its event loop before Django sees them.

    Through Django, the readiness check runs in Django's sync thread, and
    its channel-layer round trip is sent from there back to this loop. When
    Daphne was stopped during a check (its healthcheck asks every two
    seconds), the loop could end first: the thread then waited for it
    forever, Python waits for its threads before exiting, and Daphne was
    killed at the end of its grace period (exit 137). Here nothing waits on
    the loop from a thread: a stop cancels the check, and the sync checks'
    own timeouts bound how long it waits for them.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in ("/healthz", "/readyz"):
            return await self.app(scope, receive, send)
        if scope["path"] == "/healthz":
            status, body = 200, {"status": "ok"}
        else:
            status, body = readiness_answer(await areadiness())
        content = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
