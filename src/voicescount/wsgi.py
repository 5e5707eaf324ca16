"""WSGI entry point for gunicorn (``voicescount serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicescount.settings")
application = get_wsgi_application()
