"""Settings common to every environment.

Nothing here needs a running service: the environment-specific modules add
PostgreSQL and Redis (prod) or their in-process stand-ins (local, test).
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy

from .env import config, one_of

# educa/ (the folder holding manage.py)
BASE_DIR = Path(__file__).resolve().parent.parent.parent

# The id of the code and dependencies an image carries, written when it is
# built (Dockerfile); a checkout has none (educa/release.py).
RELEASE_ID_FILE = BASE_DIR.parent / "RELEASE"

DEBUG = False
ALLOWED_HOSTS = []

INSTALLED_APPS = [
    # Daphne's runserver replaces Django's: the first app with a command name wins.
    "daphne",
    # The project's own management commands (check_services, a diffsettings
    # that masks secrets, and the createsuperuser that replaces
    # django.contrib.auth's, hence before it).
    "educa",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    # sign-in lockout after repeated wrong passwords (see "Sign-in" below)
    "axes",
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
    # turns a locked-out sign-in into the lockout answer; django-axes asks for it last
    "axes.middleware.AxesMiddleware",
]

# django-axes checks the lockout before any password is hashed, then the
# usual user table.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
                "courses.context_processors.teaching",
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

# Sign-in lockout (django-axes, a maintained library rather than our own
# counters). After LOGIN_FAILURE_LIMIT wrong passwords for one account from
# one address, that account is refused from that address for
# LOGIN_LOCKOUT_MINUTES: counting the pair rather than the account alone
# means a stranger cannot lock a student out by guessing wrong on purpose.
# NGINX limits the sign-in attempts of each address as a whole
# (config/nginx). An admin unlocks an account early in the admin's "Access
# attempts" or with ``manage.py axes_reset_username <name>``.
AXES_FAILURE_LIMIT = config("LOGIN_FAILURE_LIMIT", default=5, cast=int)
_LOCKOUT_MINUTES = config("LOGIN_LOCKOUT_MINUTES", default=15, cast=int)
AXES_COOLOFF_TIME = timedelta(minutes=_LOCKOUT_MINUTES)
if AXES_FAILURE_LIMIT < 1 or _LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES must be at least 1")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The address is the connection's (REMOTE_ADDR, which NGINX sets from the
# peer), never a header a client could write.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_LOCKOUT_CALLABLE = "educa.lockout.locked_out"
# Failed attempts are kept (they are the lockout); successful sign-ins are
# not logged in the database as well.
AXES_DISABLE_ACCESS_LOG = True

# The admin lives at a configurable path so it is not where scanners look.
ADMIN_URL = config("ADMIN_URL", default="admin/")

# Subdomain redirects: <course-slug>.<SITE_DOMAIN> goes to that course.
SITE_DOMAIN = config("SITE_DOMAIN", default="localhost")

# NGINX's server that renders a cached page again on request (inside the
# stack's network only); empty where no NGINX caches pages (courses.page_cache).
PAGE_CACHE_REFRESH_URL = config("PAGE_CACHE_REFRESH_URL", default="")
if PAGE_CACHE_REFRESH_URL and not PAGE_CACHE_REFRESH_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"PAGE_CACHE_REFRESH_URL must be an http(s) URL: {PAGE_CACHE_REFRESH_URL!r}")

# One limit for every uploaded file; NGINX takes a body that large only at
# the addresses that upload files (every other one gets 1 MB) and sets its
# limit from the same variable, so a too-large body is refused before it
# reaches Django. The rest of a request (form fields, JSON) stays under
# Django's own in-memory limit, DATA_UPLOAD_MAX_MEMORY_SIZE, left at 2.5 MB;
# uploaded files are not held in memory past 2.5 MB either
# (FILE_UPLOAD_MAX_MEMORY_SIZE) but written to /tmp.
UPLOAD_MAX_MB = config("UPLOAD_MAX_MB", default=10, cast=int)
UPLOAD_MAX_BYTES = UPLOAD_MAX_MB * 1024 * 1024
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
    # Per client: an address for anonymous requests, the account once signed
    # in, and a scope of its own for enrolling (courses.api.views). The
    # address is REMOTE_ADDR (NUM_PROXIES 0): NGINX is the only proxy and sets
    # it. Over a rate the answer is 429 with Retry-After. While Redis is
    # unavailable the rates are not counted (courses.api.throttling); NGINX
    # limits each address's API requests per second as well (config/nginx).
    "DEFAULT_THROTTLE_CLASSES": [
        "courses.api.throttling.AnonRateThrottle",
        "courses.api.throttling.UserRateThrottle",
        "courses.api.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": config("API_THROTTLE_ANON", default="600/min"),
        "user": config("API_THROTTLE_USER", default="600/min"),
        "enroll": config("API_THROTTLE_ENROLL", default="30/hour"),
    },
    "NUM_PROXIES": 0,
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

# Error reports (the e-mail to ADMINS) mask the secrets' values wherever they
# appear, not only the settings named like secrets (educa.error_reports).
DEFAULT_EXCEPTION_REPORTER_FILTER = "educa.error_reports.SecretValueFilter"

# The scheduler service's periodic jobs (educa run_schedule): each a crontab
# schedule in TIME_ZONE (an empty one turns the job off) and the management
# command it runs. Reminders go once per user, so a daily run is safe.
ENROLL_REMINDER_DAYS = config("ENROLL_REMINDER_DAYS", default=7, cast=int)
SCHEDULES = {
    "enroll_reminder": (
        "SCHEDULE_ENROLL_REMINDER",
        config("SCHEDULE_ENROLL_REMINDER", default="0 9 * * *"),
        ["enroll_reminder", f"--days={ENROLL_REMINDER_DAYS}"],
    ),
}

# Every line carries a time, a level and the id of the request it belongs to
# ("-" outside one; educa.request_id), which NGINX and uWSGI write too. The
# production settings write the same fields as one JSON object per line.
LOG_FORMAT = one_of("LOG_FORMAT", ("plain", "json"), default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "educa.request_id.RequestIdFilter"},
    },
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name} [{request_id}]: {message}", "style": "{"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "{levelname}{name}{message}{request_id}",
            "style": "{",
            "rename_fields": {"levelname": "level", "name": "logger"},
            # ISO 8601 in UTC, first in the object
            "timestamp": "time",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": config("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # its start-up banner would open every manage.py command's output;
        # failed sign-ins and lockouts (axes.handlers ...) are still logged
        "axes.apps": {"level": "WARNING"},
        # each job's start and end are logged by educa.schedule; APScheduler's
        # own line per run would say it twice
        "apscheduler": {"level": "WARNING"},
    },
}
