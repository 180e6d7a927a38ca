"""The channel layer of the production settings: Redis Pub/Sub.

Why Pub/Sub rather than channels_redis's default (lists): a chat message goes
to everybody in the course's room. With lists, Redis holds one copy per
member and every Daphne process takes its members' copies out one command at
a time, so in a room of 500 the last member got a message hundreds of
milliseconds after the first. With Pub/Sub, Redis sends the message once to
each Daphne process that has a member in the room, and the process hands it
to its members in memory (chat.rooms).

What Pub/Sub gives up is buffering: a process that is not connected to Redis
when a message is published never gets it. The chat does not depend on it:
every message is stored in PostgreSQL before it is broadcast, and a socket
that reconnects asks for what it missed (``?after=<id>``, chat.consumers).
There are no per-channel capacity limits either; Daphne's memory per open
socket is measured by bench/chat_scale.py.

The layer also lends its Redis to the count of each user's open sockets
(chat.sockets), with the same address, credentials and TLS options.
"""

import asyncio

from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import create_pool, decode_hosts
from redis import asyncio as aioredis


class PubSubChannelLayer(RedisPubSubChannelLayer):
    def __init__(self, *args, hosts=None, **kwargs):
        super().__init__(*args, hosts=hosts, **kwargs)
        # the first host: the settings name one Redis
        self.host = decode_hosts(hosts)[0]
        self.clients = {}

    def redis(self):
        """A Redis client for the running event loop (connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        client = self.clients.get(loop)
        if client is None:
            client = self.clients[loop] = aioredis.Redis(connection_pool=create_pool(self.host))
        return client

    async def flush(self):
        client = self.clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose(close_connection_pool=True)
        # the base class answers flush() through __getattr__, which super() skips
        await self._get_layer().flush()
