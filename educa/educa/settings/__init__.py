"""Settings are split by environment; DJANGO_SETTINGS_MODULE picks one of
``educa.settings.local`` (no services), ``educa.settings.prod`` (the stack) or
``educa.settings.test`` (the test suite)."""
