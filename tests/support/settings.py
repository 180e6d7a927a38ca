"""Environments for running educa's settings modules in tests, outside the stack."""

import importlib
import os

# A complete production environment; the values are throwaway test data.
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "educa.settings.prod",
    "SECRET_KEY": "x" * 20 + "-unit-test-secret-key-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "educa.example,.educa.example",
    "SITE_DOMAIN": "educa.example",
    "POSTGRES_DB": "educa",
    "POSTGRES_USER": "educa",
    "POSTGRES_PASSWORD": "db-password",
    "REDIS_URL": "redis://cache:6379",
    "REDIS_PASSWORD": "redis-password",
}

# Variables of the caller's shell that would change what a settings module builds.
SETTINGS_PREFIXES = ("DJANGO_", "POSTGRES_", "REDIS_", "SENTRY_")


def clean_environment(**values):
    """The current environment without educa's settings variables, plus ``values`` (for a subprocess)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SETTINGS_PREFIXES) and key != "SECRET_KEY"
    }
    env.update(values)
    return env


def load_prod(monkeypatch, unset=(), **overrides):
    """``educa.settings.prod`` executed afresh under PROD_ENV plus ``overrides``, without ``unset``."""
    for name, value in {**PROD_ENV, **overrides}.items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    return importlib.reload(importlib.import_module("educa.settings.prod"))
