"""The production settings with channels_redis's list layer, for bench/chat_scale.py --baseline.

Mounted into Daphne's container by bench/list_layer/compose.yml. The layer's
settings are the ones the stack had before it moved to Pub/Sub: its BRPOP
waits up to 5 s inside Redis, so the read timeout is 5 s longer than the
cache's, and each channel holds up to 200 messages for 30 s.
"""

from .prod import *  # noqa: F403
from .prod import CHANNEL_LAYERS as _PUBSUB

_HOSTS = [
    {**host, "socket_timeout": host["socket_timeout"] + 5} for host in _PUBSUB["default"]["CONFIG"]["hosts"]
]
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": _HOSTS, "capacity": 200, "expiry": 30},
    }
}
# every upper-case name becomes a setting, a leading underscore included
del _HOSTS, _PUBSUB
