"""Production: the Docker Compose stack (NGINX, uWSGI, Daphne, PostgreSQL, Redis).

Everything comes from the environment. A required variable that is missing
stops start-up with one line naming it; nothing falls back to an insecure
default.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .env import Csv, config, redis_connection_kwargs, redis_url, required, secret, split_redis_credentials

DEBUG = False
SECRET_KEY = required("SECRET_KEY")
# Previous keys, comma-separated, still accepted for what they signed
# (sessions, password-reset links) while SECRET_KEY is rotated; empty the
# rest of the time (docs/operations.md, "Rotating secrets").
SECRET_KEY_FALLBACKS = [
    key.strip() for key in secret("SECRET_KEY_FALLBACKS", default="").split(",") if key.strip()
]
ALLOWED_HOSTS = required("ALLOWED_HOSTS", cast=Csv())
SITE_DOMAIN = required("SITE_DOMAIN")
CSRF_TRUSTED_ORIGINS = config(
    "CSRF_TRUSTED_ORIGINS",
    default=",".join(f"https://{host.lstrip('.')}" for host in ALLOWED_HOSTS if host != "*"),
    cast=Csv(),
)
# The chat's WebSocket opens from the site's own pages only (educa.websocket):
# they are on the HTTPS port NGINX publishes ("443", "8443", or "127.0.0.1:8443"
# with a bind address), plus the origins the operator named in
# CSRF_TRUSTED_ORIGINS; its default above (host names, whatever the port) is not used.
_HTTPS_PORT = config("HTTPS_PORT", default="443")
if not _HTTPS_PORT.rpartition(":")[2].isdigit():
    raise ImproperlyConfigured(f"HTTPS_PORT must be a port number: {_HTTPS_PORT!r}")
HTTPS_PORT = int(_HTTPS_PORT.rpartition(":")[2])
WEBSOCKET_TRUSTED_ORIGINS = config("CSRF_TRUSTED_ORIGINS", default="", cast=Csv())
ADMINS = [("educa admin", address) for address in config("ADMIN_EMAILS", default="", cast=Csv())]

# Errors also go to Sentry when SENTRY_DSN is set (educa.error_tracking); the
# DSN stays out of the settings themselves, which diffsettings prints.
_SENTRY_DSN = config("SENTRY_DSN", default="")
if _SENTRY_DSN:
    from educa.error_tracking import start_sentry

    start_sentry(_SENTRY_DSN, environment=config("SENTRY_ENVIRONMENT", default="production"))
del _SENTRY_DSN

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": required("POSTGRES_DB"),
        "USER": required("POSTGRES_USER"),
        "PASSWORD": required("POSTGRES_PASSWORD"),
        "HOST": config("POSTGRES_HOST", default="db"),
        "PORT": config("POSTGRES_PORT", default=5432, cast=int),
        # Keep connections between requests, but check them first so a
        # restarted database costs one error at most, not a stream of them.
        "CONN_MAX_AGE": config("POSTGRES_CONN_MAX_AGE", default=60, cast=int),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": config("POSTGRES_CONNECT_TIMEOUT", default=5, cast=int)},
    }
}

# Redis: one server, separate databases for the cache and the channel layer.
# Both get the same TLS options, so rediss:// with a private CA works for both.
# The password is a client option, never part of a URL: Django prints the
# URLs as they are (diffsettings, the error reports e-mailed to ADMINS) but
# masks an option called "password" (see env.split_redis_credentials).
_REDIS_BASE, _REDIS_CREDENTIALS = split_redis_credentials(required("REDIS_URL"), secret("REDIS_PASSWORD"))
_REDIS_OPTIONS = {
    "cert_reqs": config("REDIS_SSL_CERT_REQS", default="required"),
    "ca_certs": config("REDIS_SSL_CA_CERTS", default=None),
    "timeout": config("REDIS_TIMEOUT", default=2.0, cast=float),
}
REDIS_CACHE_URL = redis_url(_REDIS_BASE, config("REDIS_CACHE_DB", default=0, cast=int))
REDIS_CHANNEL_LAYER_URL = redis_url(_REDIS_BASE, config("REDIS_CHANNEL_LAYER_DB", default=1, cast=int))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": "educa",
        # Django's RedisCache hands OPTIONS to redis-py's ConnectionPool.from_url.
        "OPTIONS": {**redis_connection_kwargs(REDIS_CACHE_URL, **_REDIS_OPTIONS), **_REDIS_CREDENTIALS},
    }
}

# Redis Pub/Sub: a room's message crosses Redis once per Daphne process, not
# once per member (chat.layers says why, and what it gives up).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "chat.layers.PubSubChannelLayer",
        "CONFIG": {
            # channels_redis hands each host's keys besides "address" to
            # redis.asyncio's ConnectionPool.from_url.
            "hosts": [
                {
                    "address": REDIS_CHANNEL_LAYER_URL,
                    **redis_connection_kwargs(REDIS_CHANNEL_LAYER_URL, **_REDIS_OPTIONS),
                    **_REDIS_CREDENTIALS,
                    # a chat message is worth one more try; a cache read is not
                    "retry_on_timeout": True,
                }
            ],
        },
    }
}
# Django takes every upper-case name of this module as a setting, a leading
# underscore included: the credentials stay in the client options only.
del _REDIS_CREDENTIALS

# Sessions in the database: a Redis restart must not log everybody out
# (Django's database sessions, refusing cookies that are not a session key).
SESSION_ENGINE = "educa.sessions"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names let NGINX serve static files with a one-year cache.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# The development stack (docker-compose.override.yml) sets this so that an
# edit shows on the next reload, as Python code already does under uWSGI's
# autoreload: templates are read from disk at every render instead of once
# per process (Django caches them whenever DEBUG is off), and static files
# keep their plain names, so no manifest has to be rebuilt and reloaded after
# each edit (the override copies edited files into the static volume, and
# its NGINX has browsers revalidate them). The production compose file
# passes no such variable to the containers.
DEVELOPMENT_RELOAD = config("DEVELOPMENT_RELOAD", default=False, cast=bool)
if DEVELOPMENT_RELOAD:
    # new dicts, not edits: base.TEMPLATES stays as it was
    TEMPLATES = [
        {
            **TEMPLATES[0],  # noqa: F405
            "APP_DIRS": False,  # Django refuses APP_DIRS together with explicit loaders
            "OPTIONS": {
                **TEMPLATES[0]["OPTIONS"],  # noqa: F405
                "loaders": [
                    "django.template.loaders.filesystem.Loader",
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }
    ]
    STORAGES = {
        **STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# Course files go out through NGINX's internal location after Django says yes.
PROTECTED_MEDIA_ACCEL_PREFIX = config("PROTECTED_MEDIA_ACCEL_PREFIX", default="/protected-media/")

# NGINX terminates TLS and tells us so.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False
SECURE_SSL_REDIRECT = config("SECURE_SSL_REDIRECT", default=True, cast=bool)
SECURE_HSTS_SECONDS = config("SECURE_HSTS_SECONDS", default=31536000, cast=int)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = config("SECURE_HSTS_PRELOAD", default=True, cast=bool)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = config("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = config("EMAIL_HOST", default="localhost")
EMAIL_PORT = config("EMAIL_PORT", default=25, cast=int)
EMAIL_HOST_USER = config("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = secret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = config("EMAIL_USE_TLS", default=False, cast=bool)
SERVER_EMAIL = DEFAULT_FROM_EMAIL  # noqa: F405
