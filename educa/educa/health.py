"""Liveness and readiness probes.

``/healthz`` says the process answers and touches nothing else. ``/readyz``
checks the database, the cache and the channel layer and answers 503 naming
the ones that fail. Both are answered here, before host validation and the
HTTPS redirect, so container healthchecks can call them over plain HTTP on
any address.
"""

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
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


def check_channel_layer():
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    if async_to_sync(channel_layer_round_trip)(layer).get("type") != "readyz.ping":
        raise RuntimeError("message sent was not received")


CHECKS = {"database": check_database, "cache": check_cache, "channel_layer": check_channel_layer}


def readiness():
    """Run every check; return a dict of name -> "ok" or "error".

    The answer names what fails but not why (error texts carry internal host
    names and addresses, and NGINX's loopback server is not the only way to
    reach a process); the reason goes to the log, and ``manage.py doctor``
    explains it.
    """
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a probe reports failures, it never raises
            logger.warning("readiness check %s failed: %s: %s", name, exc.__class__.__name__, exc)
            results[name] = "error"
    return results


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            results = readiness()
            failing = [name for name, result in results.items() if result != "ok"]
            body = {"status": "ok" if not failing else "unavailable", "checks": results}
            if failing:
                body["failing"] = failing
            return JsonResponse(body, status=503 if failing else 200)
        return self.get_response(request)
