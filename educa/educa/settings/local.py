"""Development on a bare machine: no PostgreSQL, no Redis, nothing to start.

``python educa/manage.py runserver`` serves the site and the chat (Daphne's
runserver) with SQLite, a local-memory cache and an in-memory channel layer.
"""

from .base import *  # noqa: F403
from .base import BASE_DIR
from .env import Csv, config

DEBUG = config("DEBUG", default=True, cast=bool)

# A fixed key is fine here: this module never serves real users.
SECRET_KEY = config("SECRET_KEY", default="local-development-only-not-secret")

ALLOWED_HOSTS = config("ALLOWED_HOSTS", default="localhost,.localhost,127.0.0.1,[::1]", cast=Csv())
SITE_DOMAIN = config("SITE_DOMAIN", default="localhost")
# runserver listens on any port, over plain HTTP: let pages of the local
# host names open the chat whatever their scheme and port.
WEBSOCKET_ALLOWED_ORIGINS = ALLOWED_HOSTS

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": config("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "educa-local",
    }
}

CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
