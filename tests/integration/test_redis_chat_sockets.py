"""The count of each user's chat sockets on a real Redis, shared by several Daphne processes."""

import asyncio

import pytest

from chat.layers import PubSubChannelLayer
from chat.sockets import ENTRY_SECONDS, KEY, RedisSockets, registry_for

from .conftest import redis_settings_for

pytestmark = pytest.mark.integration

USER = 42


def layer_config(service):
    return redis_settings_for(service)["CHANNEL_LAYERS"]["default"]["CONFIG"]


@pytest.fixture
def channel_db(redis_server):
    """The channel layer's database, looked into directly; emptied before and after."""
    with redis_server.client(1) as client:
        client.flushdb()
        yield client
        client.flushdb()


@pytest.fixture
async def processes(redis_server, channel_db):
    """Two Daphne processes' registries: each with a channel layer (and connections) of its own."""
    layers = [PubSubChannelLayer(**layer_config(redis_server)) for _ in range(2)]
    yield [registry_for(layer) for layer in layers]
    for layer in layers:
        await layer.flush()


def test_the_production_channel_layer_counts_in_redis(redis_server):
    assert isinstance(registry_for(PubSubChannelLayer(**layer_config(redis_server))), RedisSockets)


async def test_the_cap_holds_across_processes(processes):
    first, second = processes

    assert await first.take(USER, "daphne-1.a", 3)
    assert await second.take(USER, "daphne-2.a", 3)
    assert await first.take(USER, "daphne-1.b", 3)
    assert not await second.take(USER, "daphne-2.b", 3)
    # another user is counted apart
    assert await second.take(USER + 1, "daphne-2.c", 3)

    await first.release(USER, "daphne-1.a")
    assert await second.take(USER, "daphne-2.b", 3)


async def test_sockets_opened_at_once_never_exceed_the_cap(processes):
    first, second = processes

    taken = await asyncio.gather(
        *((first if number % 2 else second).take(USER, f"socket-{number}", 5) for number in range(40))
    )

    assert taken.count(True) == 5


async def test_the_entries_of_a_process_that_died_stop_counting(processes, channel_db):
    first, second = processes
    assert await first.take(USER, "dead-daphne.a", 2)
    assert await first.take(USER, "dead-daphne.b", 2)
    assert not await second.take(USER, "live-daphne.a", 2)
    key = KEY.format(user_id=USER)
    # the whole set lapses with its last entry, and each entry on its own
    assert 0 < channel_db.pttl(key) <= ENTRY_SECONDS * 1000
    assert all(score > 0 for _, score in channel_db.zrange(key, 0, -1, withscores=True))

    # The dead process refreshes nothing: its entries reach their end.
    seconds, micros = channel_db.time()
    ended = seconds * 1000 + micros // 1000 - 1
    channel_db.zadd(key, {"dead-daphne.a": ended, "dead-daphne.b": ended})

    assert await second.take(USER, "live-daphne.a", 2)
    assert await second.take(USER, "live-daphne.b", 2)
    assert set(channel_db.zrange(key, 0, -1)) == {b"live-daphne.a", b"live-daphne.b"}


async def test_a_refresh_keeps_an_open_socket_counted_and_revives_no_closed_one(processes, channel_db):
    first, _ = processes
    key = KEY.format(user_id=USER)
    assert await first.take(USER, "open", 5)
    assert await first.take(USER, "closed", 5)
    channel_db.zadd(key, {"open": 1, "closed": 1})  # about to lapse
    await first.release(USER, "closed")

    await first.refresh(USER, "open")
    await first.refresh(USER, "closed")

    seconds, _ = channel_db.time()
    assert channel_db.zscore(key, "open") > seconds * 1000
    assert channel_db.zscore(key, "closed") is None
