"""The API's rate limits, which never take the API down with the cache.

DRF's throttles keep each client's request history in the default cache
(Redis). When Redis is unavailable they would fail every API request with a
500; here they go through the cache's breaker (courses.cache) instead and let
requests through until Redis is back. Nothing is unlimited meanwhile: NGINX
still limits each address (config/nginx).
"""

from rest_framework import throttling

from courses.cache import CacheUnavailable, guarded


class CacheSafeThrottle:
    def allow_request(self, request, view):
        check = super().allow_request
        try:
            return guarded(lambda: check(request, view), "the API's request rates")
        except CacheUnavailable:
            return True


class AnonRateThrottle(CacheSafeThrottle, throttling.AnonRateThrottle):
    """Anonymous requests, per address (API_THROTTLE_ANON)."""


class UserRateThrottle(CacheSafeThrottle, throttling.UserRateThrottle):
    """Signed-in requests, per account (API_THROTTLE_USER)."""


class ScopedRateThrottle(CacheSafeThrottle, throttling.ScopedRateThrottle):
    """Actions with a rate of their own, e.g. enrolling (API_THROTTLE_ENROLL)."""
