"""Cache keys and a cache that never takes the site down.

Keys carry the ids of what they describe plus a version number. Editing a
course bumps its version (and the catalogue's), so stale entries are simply
never read again and expire on their own; no key pattern deletes are needed,
and two courses can never share a key.

Redis being down must not break a page: every call here logs the failure and
falls back to computing the value.
"""

import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

CATALOGUE_VERSION_KEY = "catalogue:version"


def _course_version_key(course_id):
    return f"course:{course_id}:version"


def _get_version(key):
    try:
        version = cache.get(key)
        if version is None:
            cache.add(key, 1, timeout=None)
            version = cache.get(key, 1)
        return version
    except Exception:  # the cache is an optimisation; any failure means "no cache"
        logger.warning("cache unavailable while reading %s", key, exc_info=True)
        return None


def _bump(key):
    try:
        cache.incr(key)
    except ValueError:  # the key does not exist yet (or expired)
        _set_quietly(key, 2)
    except Exception:
        logger.warning("cache unavailable while invalidating %s", key, exc_info=True)


def _set_quietly(key, value):
    try:
        cache.set(key, value, timeout=None)
    except Exception:
        logger.warning("cache unavailable while writing %s", key, exc_info=True)


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


def invalidate_catalogue():
    _bump(CATALOGUE_VERSION_KEY)


def invalidate_course(course_id):
    """Forget everything cached about one course, and the catalogue that lists it."""
    _bump(_course_version_key(course_id))
    invalidate_catalogue()


def get_or_compute(key, compute, timeout=None):
    """Return the cached value for ``key``, computing and storing it on a miss.

    With ``key`` None (cache down) or any cache error, the value is computed
    and returned uncached.
    """
    if timeout is None:
        timeout = settings.CACHE_TTL
    if key is None:
        return compute()
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("cache unavailable while reading %s", key, exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout)
        except Exception:
            logger.warning("cache unavailable while writing %s", key, exc_info=True)
    return value
