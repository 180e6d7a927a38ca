"""Error reports that never carry a secret, wherever it turns up.

Django's filter masks settings by name (PASSWORD, SECRET, KEY ...) and the
variables a view marks as sensitive. A secret can also sit in a library's
local variables when the error happens: redis-py holds the Redis password in
``auth_args`` while it logs in, and a channel layer's repr shows its hosts.
This filter also replaces the value of every secret the settings hold
wherever it appears in a frame's variables, so the report e-mailed to ADMINS
(and the DEBUG page) shows stars instead.
"""

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

# shorter values would mask ordinary text ("", "1", "on")
SHORTEST_SECRET = 6


def _secret_values():
    candidates = [
        settings.SECRET_KEY,
        *getattr(settings, "SECRET_KEY_FALLBACKS", []),
        settings.DATABASES.get("default", {}).get("PASSWORD"),
        getattr(settings, "EMAIL_HOST_PASSWORD", None),
        settings.CACHES.get("default", {}).get("OPTIONS", {}).get("password"),
    ]
    for layer in getattr(settings, "CHANNEL_LAYERS", {}).values():
        for host in layer.get("CONFIG", {}).get("hosts", []):
            if isinstance(host, dict):
                candidates.append(host.get("password"))
    return {value for value in candidates if isinstance(value, str) and len(value) >= SHORTEST_SECRET}


class _Masked:
    """A variable's printed form with the secrets replaced; the report prints its repr."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


class SecretValueFilter(SafeExceptionReporterFilter):
    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        secrets = _secret_values()
        if not self.is_active(request) or not secrets:
            return variables
        return [(name, self._without(secrets, value)) for name, value in variables]

    def _without(self, secrets, value):
        try:
            text = repr(value)
        except Exception:  # a repr that fails is shown as Django shows it
            return value
        if not any(secret in text for secret in secrets):
            return value
        for secret in secrets:
            text = text.replace(secret, self.cleansed_substitute)
        return _Masked(text)
