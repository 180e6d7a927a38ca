"""Liveness and readiness probes."""

import json

import pytest
from asgiref.sync import AsyncToSync, async_to_sync
from django.test import override_settings

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

# Nothing listens on port 1: connections are refused at once.
DEAD_REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
DEAD_REDIS_LAYER = {
    "default": {
        "BACKEND": "chat.layers.PubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/1", "socket_connect_timeout": 1}]},
    }
}


def test_healthz_answers_on_any_host_without_redirect(client):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ok_when_every_dependency_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "channel_layer": "ok"}


@override_settings(CACHES=DEAD_REDIS_CACHE)
def test_readyz_names_a_dead_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["database"] == "ok"


def test_readyz_names_a_dead_channel_layer(client, settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = DEAD_REDIS_LAYER
    channel_layers.backends.clear()
    try:
        response = client.get("/readyz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["failing"] == ["channel_layer"]


def test_unknown_host_is_a_client_error(client):
    response = client.get("/", HTTP_HOST="evil.example.org")
    assert response.status_code == 400


def test_favicon_and_robots(client):
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 302
    assert favicon["Location"].endswith("favicon.svg")
    robots = client.get("/robots.txt")
    assert robots.status_code == 200
    assert robots["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in robots.content.decode()


def test_unknown_page_uses_the_custom_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


@override_settings(CACHES=DEAD_REDIS_CACHE)
def test_readyz_names_the_failure_but_keeps_its_details_in_the_log(client, caplog):
    response = client.get("/readyz")
    assert response.json()["checks"]["cache"] == "error"
    assert "127.0.0.1" not in response.content.decode()
    assert any("127.0.0.1" in record.getMessage() for record in caplog.records)


# --- The same probes on Daphne: answered on the event loop -------------------


def asgi_request(path, host="10.0.0.7:8001"):
    """A GET of ``path`` to the ASGI application Daphne serves, not sent yet."""
    from channels.testing import HttpCommunicator

    from educa.asgi import application

    return HttpCommunicator(application, "GET", path, headers=[(b"host", host.encode())])


def asgi_get(path, host="10.0.0.7:8001"):
    """GET ``path`` from the ASGI application Daphne serves; return (status, headers, body)."""
    response = async_to_sync(asgi_request(path, host).get_response)(timeout=30)
    return response["status"], dict(response["headers"]), response["body"]


def test_daphne_answers_readyz_as_django_does(client):
    status, headers, body = asgi_get("/readyz")
    assert status == 200
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body) == client.get("/readyz").json()


@override_settings(CACHES=DEAD_REDIS_CACHE)
def test_daphne_names_a_dead_cache():
    status, _, body = asgi_get("/readyz")
    assert status == 503
    assert json.loads(body)["failing"] == ["cache"]
    assert json.loads(body)["checks"]["channel_layer"] == "ok"


def test_daphne_answers_healthz_on_any_host():
    status, _, body = asgi_get("/healthz", host="10.0.0.7")
    assert status == 200
    assert json.loads(body) == {"status": "ok"}


def test_daphne_hands_other_paths_to_django():
    status, _, _ = asgi_get("/", host="evil.example.org")
    assert status == 400


def test_daphnes_readiness_check_never_waits_for_the_event_loop_from_a_thread(monkeypatch):
    """A thread waiting for the event loop kept Daphne from exiting when a stop
    ended the loop during a check; the container was killed (health.HealthChecks)."""
    request = asgi_request("/readyz")
    waits = []
    wait = AsyncToSync.__call__

    def counted_wait(self, *args, **kwargs):
        # the test's own wait, around the whole request, is not counted
        if self.awaitable != request.get_response:
            waits.append(getattr(self.awaitable, "__name__", repr(self.awaitable)))
        return wait(self, *args, **kwargs)

    monkeypatch.setattr(AsyncToSync, "__call__", counted_wait)
    response = async_to_sync(request.get_response)(timeout=30)
    assert response["status"] == 200
    assert waits == []
