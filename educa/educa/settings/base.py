"""Settings common to every environment.

Nothing here needs a running service: the environment-specific modules add
PostgreSQL and Redis (prod) or their in-process stand-ins (local, test).
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy

from .env import config

# educa/ (the folder holding manage.py)
BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = False
ALLOWED_HOSTS = []

INSTALLED_APPS = [
    # Daphne's runserver replaces Django's: the first app with a command name wins.
    "daphne",
    # The project's own management commands (check_services, and the
    # createsuperuser that replaces django.contrib.auth's, hence before it).
    "educa",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, collected with the rest: the API page loads nothing from a CDN.
    "drf_spectacular_sidecar",
    "channels",
    "courses",
    "students",
    "chat",
]

MIDDLEWARE = [
    # Answers /healthz and /readyz before host validation, so probes from the
    # container runtime need no entry in ALLOWED_HOSTS.
    "educa.health.HealthCheckMiddleware",
    # A database outage answers 503 (try again) instead of a 500 per request.
    "educa.middleware.DatabaseUnavailableMiddleware",
    # After a change, NGINX's cached pages for anonymous visitors are
    # rendered again before the response leaves (courses.page_cache).
    "courses.page_cache.PageCacheRefreshMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "courses.middleware.SubdomainCourseMiddleware",
]

ROOT_URLCONF = "educa.urls"
WSGI_APPLICATION = "educa.wsgi.application"
ASGI_APPLICATION = "educa.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = config("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(config("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(config("MEDIA_ROOT", default=str(BASE_DIR / "media")))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = reverse_lazy("login")
LOGIN_REDIRECT_URL = reverse_lazy("after_login")
LOGOUT_REDIRECT_URL = reverse_lazy("course_list")

# The admin lives at a configurable path so it is not where scanners look.
ADMIN_URL = config("ADMIN_URL", default="admin/")

# Subdomain redirects: <course-slug>.<SITE_DOMAIN> goes to that course.
SITE_DOMAIN = config("SITE_DOMAIN", default="localhost")

# NGINX's server that renders a cached page again on request (inside the
# stack's network only); empty where no NGINX caches pages (courses.page_cache).
PAGE_CACHE_REFRESH_URL = config("PAGE_CACHE_REFRESH_URL", default="")
if PAGE_CACHE_REFRESH_URL and not PAGE_CACHE_REFRESH_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"PAGE_CACHE_REFRESH_URL must be an http(s) URL: {PAGE_CACHE_REFRESH_URL!r}")

# One limit for every upload; NGINX's client_max_body_size is set from the same
# variable so a too-large body is refused before it reaches Django.
UPLOAD_MAX_MB = config("UPLOAD_MAX_MB", default=10, cast=int)
UPLOAD_MAX_BYTES = UPLOAD_MAX_MB * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750

# Course files are served only after a permission check. With a prefix set,
# Django answers with X-Accel-Redirect and NGINX sends the bytes from an
# internal location; without one, Django streams the file itself.
PROTECTED_MEDIA_ACCEL_PREFIX = None

# Chat: the longest message accepted and how many are shown on opening a room.
CHAT_MESSAGE_MAX_LENGTH = config("CHAT_MESSAGE_MAX_LENGTH", default=2000, cast=int)
CHAT_HISTORY_LENGTH = config("CHAT_HISTORY_LENGTH", default=50, cast=int)
# Chat abuse limits: a burst of messages per socket refilled at a steady rate,
# and the sockets one user may hold open at once (docs/websocket.md, "Limits").
CHAT_RATE_BURST = config("CHAT_RATE_BURST", default=10, cast=int)
CHAT_RATE_PER_SECOND = config("CHAT_RATE_PER_SECOND", default=1, cast=float)
CHAT_MAX_SOCKETS_PER_USER = config("CHAT_MAX_SOCKETS_PER_USER", default=5, cast=int)
if CHAT_RATE_BURST < 1 or CHAT_RATE_PER_SECOND <= 0 or CHAT_MAX_SOCKETS_PER_USER < 1:
    raise ImproperlyConfigured(
        "CHAT_RATE_BURST and CHAT_MAX_SOCKETS_PER_USER must be at least 1, CHAT_RATE_PER_SECOND above 0"
    )

# Origins whose pages may open the chat's WebSocket. None: exactly the site's
# own (educa.websocket.allowed_origins), not every subdomain ALLOWED_HOSTS
# answers: https://SITE_DOMAIN on HTTPS_PORT, plus WEBSOCKET_TRUSTED_ORIGINS
# (prod reads both from the environment).
WEBSOCKET_ALLOWED_ORIGINS = None
HTTPS_PORT = 443
WEBSOCKET_TRUSTED_ORIGINS = []

CACHE_TTL = config("CACHE_TTL", default=900, cast=int)

REST_FRAMEWORK = {
    # The browser's session only. HTTP Basic made any request carrying an
    # Authorization header cost a password hash (about 0.35 s of CPU), even on
    # public endpoints and for unknown users, and a NUL in its user name
    # reached PostgreSQL and failed the request with a 500.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "courses.api.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI description of /api/, generated from the code (drf-spectacular).
SPECTACULAR_SETTINGS = {
    "TITLE": "educa API",
    "DESCRIPTION": (
        "Subjects and courses of the catalogue for anyone; enrolment and course contents for "
        "signed-in students. Browsers authenticate with their session cookie; POST requests "
        "carry the csrftoken cookie's value in an X-CSRFToken header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "courses.api.schema.document_error_responses",
    ],
}

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# The sender follows the site, as in the compose file.
DEFAULT_FROM_EMAIL = config("DEFAULT_FROM_EMAIL", default=f"educa <noreply@{SITE_DOMAIN}>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": config("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
