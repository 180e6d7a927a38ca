"""WSGI entry point, served by uWSGI in the stack."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.prod")

application = get_wsgi_application()
