"""``<course-slug>.<SITE_DOMAIN>`` -> that course's page on the main domain."""

import ipaddress

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.http.request import split_domain_port
from django.urls import reverse

from .models import Course

# Hosts below the site domain that are the site itself, never a course.
SITE_ALIASES = frozenset({"www"})


def _is_ip_address(domain):
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return False
    return True


def course_subdomain(domain, site_domain):
    """The course slug in ``domain`` (``slug.site``), or None when it is the site itself.

    None for the bare site domain, ``www``, IP addresses, ``localhost`` and
    hosts outside the site domain: those are served as usual.
    """
    domain = domain.lower().rstrip(".")
    site_domain = site_domain.lower().rstrip(".")
    if not site_domain or domain in {"", "localhost"} or _is_ip_address(domain):
        return None
    suffix = f".{site_domain}"
    if not domain.endswith(suffix):
        return None
    subdomain = domain[: -len(suffix)]
    if subdomain in SITE_ALIASES:
        return None
    return subdomain


class SubdomainCourseMiddleware:
    """Redirect a course subdomain to the course's page on the main domain.

    The Host header is read with ``request.get_host()``, which validates it
    against ALLOWED_HOSTS first, so a forged host is Django's 400 and never
    reaches a redirect. A subdomain that is no course is a 404.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        domain, port = split_domain_port(request.get_host())
        site_domain, _ = split_domain_port(settings.SITE_DOMAIN)
        slug = course_subdomain(domain, site_domain or settings.SITE_DOMAIN)
        if slug is None:
            return self.get_response(request)
        course = Course.objects.filter(slug__iexact=slug).only("slug").first()
        if course is None:
            raise Http404("No course at this address.")
        netloc = f"{site_domain}:{port}" if port else site_domain
        path = reverse("course_detail", args=[course.slug])
        return HttpResponseRedirect(f"{request.scheme}://{netloc}{path}")
