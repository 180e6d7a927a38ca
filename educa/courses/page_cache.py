"""Keeping NGINX's page cache for anonymous visitors fresh after a change.

NGINX keeps the catalogue, the subject pages and the course pages that
anonymous visitors get for NGINX_PAGE_CACHE_SECONDS (config/nginx,
page-cache.conf). It counts whole seconds, so with the default of 1 s a page
can be served until almost 2 s after it was rendered, and open-source NGINX
cannot delete an entry. So after a change the pages that show it are
rendered again at once: Django asks NGINX's refresh server
(``PAGE_CACHE_REFRESH_URL``, inside the stack's network, never published) for
each of them; that server skips the cached copy, has Django render the page
like for any visitor and stores the answer in place of the old one. From the
moment the request that made the change is answered, anonymous visitors see
it.

The pages are those whose content depends on courses: the catalogue and
every subject page (they show every subject's course count) and the page of
each changed course. Changes are collected while a request runs and the pages
refreshed once, before its response leaves (``PageCacheRefreshMiddleware``);
a change made outside a request (a management command, the shell) refreshes
them when its transaction commits. Nothing is refreshed for a transaction
that rolls back.

A refresh that fails (NGINX restarting, say) is logged; the cached copy then
expires on its own within the cache time.
"""

import logging
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, transaction
from django.urls import reverse

logger = logging.getLogger(__name__)

# Seconds one refresh may take: a page render, queued behind busy workers at worst.
REFRESH_TIMEOUT = 5
# Pages rendered at the same time: enough to overlap, few enough to leave
# uWSGI's other threads to visitors.
PARALLEL_REFRESHES = 3

_request = threading.local()


def pages_changed(course_ids=()):
    """Refresh the cached pages showing ``course_ids`` (and the catalogue) once the change commits."""
    if not settings.PAGE_CACHE_REFRESH_URL:
        return
    course_ids = {course_id for course_id in course_ids if course_id is not None}
    transaction.on_commit(lambda: _committed(course_ids))


def _committed(course_ids):
    pending = getattr(_request, "course_ids", None)
    if pending is None:
        refresh(course_ids)
    else:
        pending.update(course_ids)
        _request.changed = True


def paths_to_refresh(course_ids):
    """The cached paths whose content depends on these courses: catalogue, subjects, courses."""
    from .models import Course, Subject

    subjects = Subject.objects.order_by("pk").values_list("slug", flat=True)
    courses = Course.objects.filter(pk__in=course_ids).order_by("pk").values_list("slug", flat=True)
    return [
        reverse("course_list"),
        *(reverse("course_list_subject", args=[slug]) for slug in subjects),
        *(reverse("course_detail", args=[slug]) for slug in courses),
    ]


def refresh(course_ids):
    """Have NGINX render and store again every page showing these courses."""
    try:
        paths = paths_to_refresh(course_ids)
    except DatabaseError as error:
        logger.warning("could not list the cached pages to refresh: %s", error)
        return
    with ThreadPoolExecutor(max_workers=PARALLEL_REFRESHES) as pool:
        list(pool.map(_refresh_one, paths))


def _refresh_one(path):
    base = settings.PAGE_CACHE_REFRESH_URL.rstrip("/")
    # the site's own name: NGINX caches its pages under it
    # http(s) only: the settings refuse any other scheme
    request = urllib.request.Request(f"{base}{path}", headers={"Host": settings.SITE_DOMAIN})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=REFRESH_TIMEOUT) as response:  # noqa: S310  # nosec B310
            response.read()
    except OSError as error:  # refused, timed out, or an HTTP error status
        logger.warning("could not refresh the cached page %s: %s", path, error)


class PageCacheRefreshMiddleware:
    """Refresh the pages a request changed once, when its response is ready.

    Placed before the views' middleware, so every write of the request has
    committed by then. The refresh runs before the response is sent: whoever made the change, and
    everybody after them, sees the new pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _request.course_ids, _request.changed = set(), False
        try:
            response = self.get_response(request)
        finally:
            course_ids, changed = _request.course_ids, _request.changed
            _request.course_ids = None
        if changed:
            refresh(course_ids)
        return response
