"""The configuration educa really runs with, and what is wrong with it, in plain words.

    python manage.py doctor                      # on a bare machine
    docker compose exec web python manage.py doctor

First the effective configuration, every secret shown as stars: the settings
module, allowed hosts, the database, every cache alias, the channel layer,
how Redis's TLS certificate is checked (and against which CA), e-mail, static
and media files. Then each connection is tried and each problem explained in
one line: a wrong password, a certificate that does not verify (naming the CA
file), an unknown host, a timeout, a refused connection, or a cache alias
that the settings or the code ask for but CACHES does not define (a
configuration that works locally because the local settings define more
aliases than production's). Exit status 0 only when everything is well.

The checks are the readiness probe's (educa.health); /readyz names what
fails, this says why.
"""

import ast
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.views.debug import SafeExceptionReporterFilter

from educa import health
from educa.management.commands.check_services import one_line

MASK = SafeExceptionReporterFilter.cleansed_substitute
# the settings that name a cache alias, and when they are in use
ALIAS_SETTINGS = {
    "CACHE_MIDDLEWARE_ALIAS": lambda: any("cache.UpdateCacheMiddleware" in m for m in settings.MIDDLEWARE),
    "SESSION_CACHE_ALIAS": lambda: "cache" in settings.SESSION_ENGINE,
    "AXES_CACHE": lambda: "cache" in getattr(settings, "AXES_HANDLER", ""),
}
UNKNOWN_HOST = ("Name or service not known", "failed to resolve host", "nodename nor servname",
                "Temporary failure in name resolution", "No address associated with hostname")  # fmt: skip


def secret(value):
    return MASK if value else "none"


def redis_tls(location, options):
    """How a Redis client's certificate check is set up, in words."""
    if urlsplit(location).scheme != "rediss":
        return "off (redis://)"
    if options.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
        return "on, certificate NOT verified (REDIS_SSL_CERT_REQS=none)"
    ca = options.get("ssl_ca_certs")
    return (
        f"on, certificate verified against {ca}"
        if ca
        else "on, certificate verified against the system's CAs"
    )


def redis_description(location, options):
    parts = urlsplit(location)
    user = options.get("username") or "the default user"
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or '/0'} as {user} " + (
        f"(password {secret(options.get('password'))})"
    )


def explain(error, ca_file=None, timeout=None):
    """Why a connection failed, in one line: the causes an operator can act on come first."""
    chain, seen = [], error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
    if "password authentication failed" in text or "WRONGPASS" in text or "invalid username-password" in text:
        return f"wrong password (or user name): {one_line(error)}"
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        against = f"the CA in {ca_file}" if ca_file else "the system's CAs"
        return f"certificate verification failed against {against}: {one_line(error)}"
    if any(words in text for words in UNKNOWN_HOST):
        return f"unknown host: {one_line(error)}"
    if "Timeout" in text or "timed out" in text or "timeout expired" in text:
        after = f" after {timeout} s" if timeout else ""
        return f"timed out{after}: {one_line(error)}"
    if "Connection refused" in text:
        return f"connection refused (nothing listens there): {one_line(error)}"
    return one_line(error)


def aliases_asked_for_by_code(root):
    """{alias: "file:line"} for every ``caches["alias"]`` in the project's own modules."""
    found = {}
    for path in sorted(Path(root).rglob("*.py")):
        if "migrations" in path.parts or path.name.startswith("test"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name | ast.Attribute)
                and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr) == "caches"
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                found.setdefault(node.slice.value, f"{path.relative_to(root)}:{node.lineno}")
    return found


class Command(BaseCommand):
    help = "Print the effective configuration (secrets masked) and check every connection it names."
    # it must run, and explain, when the configuration is broken
    requires_system_checks = []

    def handle(self, *args, **options):
        self.configuration()
        problems = self.checks()
        if problems:
            raise CommandError(f"{problems} problem{'s' if problems > 1 else ''} found.")
        self.stdout.write("Everything answers as configured.")

    # --- what is configured ---------------------------------------------------------

    def line(self, label, text):
        self.stdout.write(f"  {label:<16} {text}")

    def configuration(self):
        self.stdout.write("Configuration (secrets shown as stars)")
        self.line("settings", f"{settings.SETTINGS_MODULE} (DEBUG {settings.DEBUG})")
        self.line("allowed hosts", ", ".join(settings.ALLOWED_HOSTS) or "none")
        db = settings.DATABASES["default"]
        if "sqlite" in db["ENGINE"]:
            self.line("database", f"SQLite {db['NAME']}")
        else:
            self.line(
                "database",
                f"{db['ENGINE'].rsplit('.', 1)[-1]} {db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/"
                f"{db['NAME']} (password {secret(db.get('PASSWORD'))})",
            )
        for alias, cache in settings.CACHES.items():
            backend = cache["BACKEND"].rsplit(".", 1)[-1]
            options = cache.get("OPTIONS", {})
            where = redis_description(cache["LOCATION"], options) if "redis" in backend.lower() else ""
            self.line(f"cache '{alias}'", f"{backend} {where}".strip())
        layer = getattr(settings, "CHANNEL_LAYERS", {}).get("default")
        if layer is None:
            self.line("channel layer", "none")
        else:
            backend = layer["BACKEND"].rsplit(".", 1)[-1]
            hosts = layer.get("CONFIG", {}).get("hosts", [])
            described = [redis_description(host["address"], host) for host in hosts if isinstance(host, dict)]
            self.line("channel layer", " ".join([backend, *described]))
        redis_cache = next((c for c in settings.CACHES.values() if "redis" in c["BACKEND"].lower()), None)
        if redis_cache is not None:
            self.line("Redis TLS", redis_tls(redis_cache["LOCATION"], redis_cache.get("OPTIONS", {})))
        self.line(
            "e-mail",
            f"{settings.EMAIL_BACKEND.rsplit('.', 2)[-2]} {settings.EMAIL_HOST}:{settings.EMAIL_PORT} "
            f"user {settings.EMAIL_HOST_USER or 'none'} (password {secret(settings.EMAIL_HOST_PASSWORD)}), "
            f"TLS {'on' if settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL else 'off'}, "
            f"from {settings.DEFAULT_FROM_EMAIL}",
        )
        storages = getattr(settings, "STORAGES", {})
        for label, root, url, storage in (
            ("static files", settings.STATIC_ROOT, settings.STATIC_URL, storages.get("staticfiles", {})),
            ("media files", settings.MEDIA_ROOT, settings.MEDIA_URL, storages.get("default", {})),
        ):
            backend = storage.get("BACKEND", "?").rsplit(".", 1)[-1]
            self.line(label, f"{root} at {url} ({backend})")

    # --- does it work ---------------------------------------------------------------

    def checks(self):
        self.stdout.write("Checks")
        problems = 0
        for name, check, why in self.planned_checks():
            try:
                check()
            except Exception as error:  # every failure is reported, none raised
                problems += 1
                self.stdout.write(f"  FAIL  {name}: {why(error)}")
            else:
                self.stdout.write(f"  ok    {name}")
        for alias, asked_by in self.missing_aliases().items():
            problems += 1
            self.stdout.write(
                f"  FAIL  cache alias '{alias}' is asked for by {asked_by} but CACHES does not define it "
                f"(defined: {', '.join(settings.CACHES)})"
            )
        return problems

    def planned_checks(self):
        db = settings.DATABASES["default"]
        database_timeout = db.get("OPTIONS", {}).get("connect_timeout")
        yield (
            f"database ({db['HOST'] or db['NAME']})",
            self.check_database,
            lambda error: explain(error, timeout=database_timeout),
        )
        for alias, cache in settings.CACHES.items():
            options = cache.get("OPTIONS", {})
            ca_file, timeout = options.get("ssl_ca_certs"), options.get("socket_timeout")
            yield (
                f"cache '{alias}'",
                lambda alias=alias: health.check_cache(alias),
                lambda error, ca_file=ca_file, timeout=timeout: explain(error, ca_file, timeout),
            )
        layer = getattr(settings, "CHANNEL_LAYERS", {}).get("default")
        if layer is not None:
            hosts = [host for host in layer.get("CONFIG", {}).get("hosts", []) if isinstance(host, dict)]
            ca_file = hosts[0].get("ssl_ca_certs") if hosts else None
            timeout = hosts[0].get("socket_timeout") if hosts else None
            yield (
                "channel layer",
                health.check_channel_layer,
                lambda error: explain(error, ca_file, timeout),
            )

    def check_database(self):
        try:
            health.check_database()
        finally:
            connection.close()

    def missing_aliases(self):
        """{alias: who asks for it} for the aliases in use that CACHES lacks."""
        asked = {
            getattr(settings, name): name
            for name, in_use in ALIAS_SETTINGS.items()
            if hasattr(settings, name) and in_use()
        }
        for alias, where in aliases_asked_for_by_code(settings.BASE_DIR).items():
            asked.setdefault(alias, where)
        return {alias: who for alias, who in asked.items() if alias not in settings.CACHES}
