"""The production stack boots healthy and answers through NGINX, WebSockets included, at once."""

import pytest

pytestmark = pytest.mark.stack


def test_readyz_on_nginx_loopback_finds_every_dependency(stack):
    """Readiness, asked inside the nginx container, goes through NGINX and uWSGI to every backend."""
    status, body = stack.readiness()
    assert status == 200, body
    assert body == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok"}}


def test_the_first_websocket_handshake_after_up_wait_is_answered_at_once(stack):
    """The first chat handshake, made the moment `up --wait` returned, got the application's answer.

    Anonymous visitors are refused by the chat itself (403), so that answer
    came from Django through NGINX and Daphne; a timeout or a 502 would mean
    the stack called itself healthy before it could serve WebSockets.
    """
    status, seconds = stack.first_handshake
    print(f"\nfirst WebSocket handshake after up --wait: {status} in {seconds:.2f}s")
    assert status == 403, f"the first handshake after boot got {status} after {seconds:.1f}s"


def test_doctor_finds_everything_answering_and_prints_no_secret(stack):
    """`docker compose exec web python manage.py doctor` on the running stack."""
    result = stack.manage("doctor")
    print(result.stdout)
    assert "Everything answers as configured." in result.stdout
    assert "as educa (password ****" in result.stdout  # the Redis ACL user, its password masked
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "EMAIL_HOST_PASSWORD"):
        assert stack.env[name] not in result.stdout + result.stderr, f"{name} printed"
