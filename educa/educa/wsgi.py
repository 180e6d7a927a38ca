"""WSGI entry point, served by uWSGI in the stack."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.prod")

application = get_wsgi_application()

# Import the URL configuration, and with it every view, now: uWSGI loads
# this module in its master and forks the workers from it, so a worker
# recycled under load starts with them in memory instead of importing them
# while its first request waits. Nothing here opens a connection.
_url_patterns = get_resolver().url_patterns
