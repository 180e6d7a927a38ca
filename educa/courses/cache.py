"""Cache keys and a cache that never takes the site down.

Each entry is stored with the version number it was computed under, and
read in the same round trip as the current version: editing a course bumps
its version (and the catalogue's), so an entry of an older version reads as
a miss and is computed again. No key pattern deletes are needed, entries
expire on their own, and two courses can never share a key.

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
from dataclasses import dataclass

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


@dataclass(frozen=True)
class VersionedKey:
    """Where an entry is stored (``name``), and the version number it depends on."""

    version_key: str
    name: str


def _course_version_key(course_id):
    return f"course:{course_id}:version"


def _first_version():
    """A version number for a version key that is missing (never set, or evicted).

    Not 1: Redis evicts keys (``allkeys-lru``), and a version that started
    again from a number it had before would make older entries stored under
    that number current again. The clock in nanoseconds is past every number
    an earlier start and its bumps (one per edit) can have reached.
    """
    return time.time_ns()


def _read(key):
    """(the current version, the entry's value if it was computed under it, else None): one round trip."""
    found = cache.get_many([key.version_key, key.name])
    version = found.get(key.version_key)
    if version is None:
        cache.add(key.version_key, _first_version(), timeout=None)
        # another process may have added it first: theirs stands
        return cache.get(key.version_key), None
    entry = found.get(key.name)
    if entry is not None and entry[0] == version:
        return version, entry[1]
    return version, None


def _bump(key):
    def bump():
        try:
            cache.incr(key)
        except ValueError:  # the key does not exist yet (or was evicted)
            cache.set(key, _first_version(), timeout=None)

    try:
        guarded(bump, f"invalidating {key}")
    except CacheUnavailable:
        _breaker.forget_invalidation()


def catalogue_key(*parts):
    """The key of catalogue data (subjects, course lists): any course's change makes it stale."""
    return VersionedKey(CATALOGUE_VERSION_KEY, ":".join(["catalogue", *map(str, parts)]))


def course_key(course_id, *parts):
    """The key of data of one course (e.g. a module's rendered contents)."""
    return VersionedKey(
        _course_version_key(course_id), ":".join(["course", str(course_id), *map(str, parts)])
    )


def permissions_key(user_id, *parts):
    """The key of something a user's permissions decide.

    One version covers every user: permissions change rarely, and a change of
    a group's permissions reaches all its members at once.
    """
    return VersionedKey(
        PERMISSIONS_VERSION_KEY, ":".join(["permissions", "user", str(user_id), *map(str, parts)])
    )


def invalidate_permissions():
    _bump(PERMISSIONS_VERSION_KEY)


def invalidate_catalogue():
    _bump(CATALOGUE_VERSION_KEY)


def invalidate_course(course_id):
    """Forget everything cached about one course, and the catalogue that lists it."""
    _bump(_course_version_key(course_id))
    invalidate_catalogue()


def get_or_compute(key, compute, timeout=None):
    """Return the value cached under ``key`` (a VersionedKey), computing and storing it on a miss.

    On any cache error the value is computed and returned uncached. The
    entry is stored with the version read before computing: if the data
    changes meanwhile, the version moves on and the entry is already stale.
    A computed None is not stored: it would read back as a miss anyway, and
    keys built from request input (an unknown course's slug) would otherwise
    fill the cache with useless entries.
    """
    if timeout is None:
        timeout = settings.CACHE_TTL
    try:
        version, value = guarded(lambda: _read(key), f"reading {key.name}")
    except CacheUnavailable:
        return compute()
    if value is None:
        value = compute()
        if value is None or version is None:
            return value
        with contextlib.suppress(CacheUnavailable):
            guarded(lambda: cache.set(key.name, (version, value), timeout), f"writing {key.name}")
    return value
