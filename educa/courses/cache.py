"""Cache keys and a cache that never takes the site down.

Keys carry the ids of what they describe plus a version number. Editing a
course bumps its version (and the catalogue's), so stale entries are simply
never read again and expire on their own; no key pattern deletes are needed,
and two courses can never share a key.

Redis being unavailable must not break or slow down the site:

* a failed call makes this process leave the cache alone for
  ``RETRY_AFTER`` seconds (pages are computed uncached meanwhile), so a frozen
  Redis costs one timeout per window, not one per call;
* an invalidation that could not be written would let stale pages come back
  once Redis returns, so the first successful call after such a loss clears
  the cache (its own Redis database: the channel layer is not touched).

One warning is logged when the cache goes away and one when it is back.
"""

import contextlib
import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

CATALOGUE_VERSION_KEY = "catalogue:version"
PERMISSIONS_VERSION_KEY = "permissions:version"

# Seconds the cache is left alone after a failure.
RETRY_AFTER = 5.0


class CacheUnavailable(Exception):
    """The cache failed just now, or recently enough not to be tried."""


class _Breaker:
    """Per-process memory of cache failures (shared by the threads of a worker)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.retry_at = 0.0
        self.lost_invalidation = False

    def call(self, operation, description):
        if time.monotonic() < self.retry_at:
            raise CacheUnavailable
        try:
            if self.lost_invalidation:
                cache.clear()
                with self.lock:
                    self.lost_invalidation = False
                logger.warning("cache reachable again: cleared it, invalidations were lost meanwhile")
            return operation()
        except Exception as exc:  # the cache is an optimisation: any failure means "no cache"
            with self.lock:
                was_up = self.retry_at == 0.0
                self.retry_at = time.monotonic() + RETRY_AFTER
            if was_up:
                logger.warning(
                    "cache unavailable while %s (%s: %s); serving uncached, retrying in %ss",
                    description,
                    exc.__class__.__name__,
                    exc,
                    RETRY_AFTER,
                )
            raise CacheUnavailable from exc

    def succeeded(self):
        if self.retry_at:
            with self.lock:
                self.retry_at = 0.0
            logger.warning("cache reachable again")

    def forget_invalidation(self):
        with self.lock:
            self.lost_invalidation = True

    def reset(self):
        with self.lock:
            self.retry_at = 0.0
            self.lost_invalidation = False


_breaker = _Breaker()


@receiver(setting_changed)
def _new_cache_new_memory(setting, **kwargs):
    # Failures of a cache that is no longer configured say nothing of the new one.
    if setting == "CACHES":
        _breaker.reset()


def guarded(operation, description):
    """Run ``operation`` (which uses the cache) behind the breaker.

    Raises CacheUnavailable when the cache fails or failed moments ago; the
    caller decides what "no cache" means for it (here: compute uncached; the
    API's throttles: let the request through).
    """
    result = _breaker.call(operation, description)
    _breaker.succeeded()
    return result


def _course_version_key(course_id):
    return f"course:{course_id}:version"


def _get_version(key):
    def read():
        version = cache.get(key)
        if version is None:
            cache.add(key, 1, timeout=None)
            version = cache.get(key, 1)
        return version

    try:
        return guarded(read, f"reading {key}")
    except CacheUnavailable:
        return None


def _bump(key):
    def bump():
        try:
            cache.incr(key)
        except ValueError:  # the key does not exist yet (or was evicted)
            cache.set(key, 2, timeout=None)

    try:
        guarded(bump, f"invalidating {key}")
    except CacheUnavailable:
        _breaker.forget_invalidation()


def catalogue_key(*parts):
    """A key for catalogue data (subjects, course lists); None if the cache is down."""
    version = _get_version(CATALOGUE_VERSION_KEY)
    if version is None:
        return None
    return ":".join(["catalogue", f"v{version}", *map(str, parts)])


def course_key(course_id, *parts):
    """A key for data of one course (e.g. a module's rendered contents)."""
    version = _get_version(_course_version_key(course_id))
    if version is None:
        return None
    return ":".join(["course", str(course_id), f"v{version}", *map(str, parts)])


def permissions_key(user_id, *parts):
    """A key for something a user's permissions decide (None if the cache is down).

    One version covers every user: permissions change rarely, and a change of
    a group's permissions reaches all its members at once.
    """
    version = _get_version(PERMISSIONS_VERSION_KEY)
    if version is None:
        return None
    return ":".join(["permissions", f"v{version}", "user", str(user_id), *map(str, parts)])


def invalidate_permissions():
    _bump(PERMISSIONS_VERSION_KEY)


def invalidate_catalogue():
    _bump(CATALOGUE_VERSION_KEY)


def invalidate_course(course_id):
    """Forget everything cached about one course, and the catalogue that lists it."""
    _bump(_course_version_key(course_id))
    invalidate_catalogue()


def get_or_compute(key, compute, timeout=None):
    """Return the cached value for ``key``, computing and storing it on a miss.

    With ``key`` None (cache down) or any cache error, the value is computed
    and returned uncached. A computed None is not stored: it would read back
    as a miss anyway, and keys built from request input (an unknown course's
    slug) would otherwise fill the cache with useless entries.
    """
    if timeout is None:
        timeout = settings.CACHE_TTL
    if key is None:
        return compute()
    try:
        value = guarded(lambda: cache.get(key), f"reading {key}")
    except CacheUnavailable:
        return compute()
    if value is None:
        value = compute()
        if value is None:
            return None
        with contextlib.suppress(CacheUnavailable):
            guarded(lambda: cache.set(key, value, timeout), f"writing {key}")
    return value
