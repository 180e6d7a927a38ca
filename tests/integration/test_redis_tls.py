"""Redis over TLS (rediss://) with a private CA, as production configures it.

The CA and the server certificate are made by the test. The options reach the
cache and the channel layer through the production settings only: the
``REDIS_SSL_*`` variables, nothing set by hand.
"""

import dataclasses

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings

from chat.layers import PubSubChannelLayer
from courses.cache import VersionedKey, get_or_compute
from educa.health import channel_layer_round_trip

from .conftest import redis_settings_for

pytestmark = pytest.mark.integration


def layer_for(configured):
    return PubSubChannelLayer(**configured["CHANNEL_LAYERS"]["default"]["CONFIG"])


async def round_trip(layer):
    try:
        return await channel_layer_round_trip(layer, text="over tls")
    finally:
        await layer.flush()


def test_the_settings_verify_the_certificate_by_default(redis_tls, tls_files):
    configured = redis_settings_for(redis_tls, REDIS_SSL_CA_CERTS=str(tls_files["ca"]))
    options = configured["CACHES"]["default"]["OPTIONS"]
    layer_host = configured["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]

    for given in (options, layer_host):
        assert given["ssl_cert_reqs"] == "required"
        assert given["ssl_check_hostname"] is True
        assert given["ssl_ca_certs"] == str(tls_files["ca"])
    assert configured["CACHES"]["default"]["LOCATION"].startswith("rediss://")
    assert layer_host["address"].startswith("rediss://")


def test_the_cache_works_over_tls_with_the_right_ca(redis_tls, tls_files):
    configured = redis_settings_for(redis_tls, REDIS_SSL_CA_CERTS=str(tls_files["ca"]))

    with override_settings(CACHES=configured["CACHES"]):
        cache.set("tls:greeting", {"text": "hello over tls"}, 30)
        assert cache.get("tls:greeting") == {"text": "hello over tls"}
        renders = []

        def render():
            renders.append("rendered")
            return "rendered"

        key = VersionedKey("tls:version", "tls:computed")
        assert get_or_compute(key, render) == "rendered"
        assert get_or_compute(key, render) == "rendered"
        assert len(renders) == 1, "the second call was not answered by the cache"
        cache.delete_many(["tls:greeting", "tls:computed", "tls:version"])


async def test_the_channel_layer_works_over_tls_with_the_right_ca(redis_tls, tls_files):
    layer = layer_for(redis_settings_for(redis_tls, REDIS_SSL_CA_CERTS=str(tls_files["ca"])))

    message = await round_trip(layer)

    assert message["text"] == "over tls"


def test_a_wrong_ca_is_refused_with_a_certificate_error(redis_tls, tls_files):
    configured = redis_settings_for(redis_tls, REDIS_SSL_CA_CERTS=str(tls_files["wrong_ca"]))

    with override_settings(CACHES=configured["CACHES"]), pytest.raises(redis.ConnectionError) as refused:
        cache.set("tls:never", "stored", 30)

    assert "certificate verify failed" in str(refused.value)


async def test_the_channel_layer_refuses_a_wrong_ca_too(redis_tls, tls_files):
    layer = layer_for(redis_settings_for(redis_tls, REDIS_SSL_CA_CERTS=str(tls_files["wrong_ca"])))

    with pytest.raises(redis.ConnectionError) as refused:
        await round_trip(layer)

    assert "certificate verify failed" in str(refused.value)


def test_the_host_name_is_checked_against_the_certificate(redis_tls, tls_files):
    """The certificate names the server's host, not 127.0.0.1: the right CA alone is not enough."""
    assert "127.0.0.1" not in tls_files["names"]
    configured = redis_settings_for(redis_tls, host="127.0.0.1", REDIS_SSL_CA_CERTS=str(tls_files["ca"]))

    with override_settings(CACHES=configured["CACHES"]), pytest.raises(redis.ConnectionError) as refused:
        cache.set("tls:never", "stored", 30)

    assert "certificate verify failed" in str(refused.value)
    assert "mismatch" in str(refused.value)


def test_verification_can_be_turned_off_explicitly(redis_tls, tls_files):
    configured = redis_settings_for(
        redis_tls, REDIS_SSL_CA_CERTS=str(tls_files["wrong_ca"]), REDIS_SSL_CERT_REQS="none"
    )

    with override_settings(CACHES=configured["CACHES"]):
        cache.set("tls:unverified", "still encrypted", 30)
        assert cache.get("tls:unverified") == "still encrypted"
        cache.delete("tls:unverified")


async def test_the_channel_layer_can_skip_verification_too(redis_tls, tls_files):
    configured = redis_settings_for(
        redis_tls, REDIS_SSL_CA_CERTS=str(tls_files["wrong_ca"]), REDIS_SSL_CERT_REQS="none"
    )

    message = await round_trip(layer_for(configured))

    assert message["text"] == "over tls"


def test_plain_redis_is_not_spoken_to_a_tls_only_server(redis_tls):
    plain = dataclasses.replace(redis_tls, scheme="redis")
    configured = redis_settings_for(plain)

    with override_settings(CACHES=configured["CACHES"]), pytest.raises(redis.ConnectionError):
        cache.set("tls:never", "stored", 30)
