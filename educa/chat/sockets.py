"""How many chat sockets each user holds open, across every Daphne process.

The count lives where every Daphne process (and replica) sees it: in the
channel layer's Redis, as a sorted set per user whose members are the
sockets' channel names, each scored with the time it stops counting. A
socket pushes that time forward every ``REFRESH_SECONDS``; a Daphne process
that dies without closing its sockets stops doing so, and its entries stop
counting after ``ENTRY_SECONDS`` at most, so nobody stays locked out.

Counting and adding is one Lua script, run atomically by Redis, so two
sockets opened at once by different processes cannot both take the last
place. Times are Redis's own clock, not the processes'.

Without Redis (the in-memory channel layer of the local settings and the
tests) there is a single process, and a plain dictionary does the counting.
"""

import asyncio

# An entry stops counting this long after its socket last refreshed it.
ENTRY_SECONDS = 60
# How often an open socket refreshes its entry: three chances per lifetime,
# so a slow or failed refresh does not drop a live socket from the count.
REFRESH_SECONDS = 20

KEY = "educa:chat:sockets:{user_id}"

# KEYS[1]: the user's set; ARGV: channel name, the cap, the entry lifetime (ms).
# Returns 1 when the socket was counted, 0 when the user is at the cap.
_TAKE = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# Pushes an existing entry's end forward; an entry already gone (expired
# during a Redis outage, or evicted) is not put back: a socket uncounted
# for a while is better than a ghost that outlives its socket.
_REFRESH = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def registry_for(channel_layer):
    """The registry matching the channel layer: Redis for the production one, else in-process."""
    from .layers import PubSubChannelLayer

    if isinstance(channel_layer, PubSubChannelLayer):
        return RedisSockets(channel_layer)
    return LocalSockets()


class RedisSockets:
    """The count in the channel layer's Redis (its address, password and TLS options)."""

    def __init__(self, channel_layer):
        self.layer = channel_layer

    async def take(self, user_id, channel_name, cap):
        """Count this socket for ``user_id`` unless they already hold ``cap``; True if counted."""
        key = KEY.format(user_id=user_id)
        taken = await self.layer.redis().eval(_TAKE, 1, key, channel_name, cap, ENTRY_SECONDS * 1000)
        return bool(taken)

    async def refresh(self, user_id, channel_name):
        key = KEY.format(user_id=user_id)
        await self.layer.redis().eval(_REFRESH, 1, key, channel_name, ENTRY_SECONDS * 1000)

    async def release(self, user_id, channel_name):
        key = KEY.format(user_id=user_id)
        await self.layer.redis().zrem(key, channel_name)


class LocalSockets:
    """One process's sockets, for the in-memory channel layer (one process by definition)."""

    open = {}

    async def take(self, user_id, channel_name, cap):
        mine = self.open.setdefault(user_id, set())
        if len(mine) >= cap:
            return False
        mine.add(channel_name)
        return True

    async def refresh(self, user_id, channel_name):
        pass

    async def release(self, user_id, channel_name):
        self.open.get(user_id, set()).discard(channel_name)

    @classmethod
    def forget_all(cls):
        """Tests start from no open sockets."""
        cls.open.clear()


async def keep_counted(registry, user_id, channel_name, logger):
    """Refresh the socket's entry until cancelled (when the socket goes)."""
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            await registry.refresh(user_id, channel_name)
        except Exception:
            # Redis briefly away: the next refresh may still make it in time.
            logger.warning("could not refresh the chat socket count of user %s", user_id, exc_info=True)
