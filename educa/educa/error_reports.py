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


def _masked_values(real, cleansed, substitute):
    """The strings in ``real`` that ``cleansed`` (the same value, cleansed) shows as ``substitute``."""
    if cleansed == substitute and isinstance(real, str):
        yield real
    elif isinstance(real, dict) and isinstance(cleansed, dict):
        for key, value in real.items():
            yield from _masked_values(value, cleansed.get(key), substitute)
    elif isinstance(real, list | tuple) and isinstance(cleansed, list | tuple):
        for value, shown in zip(real, cleansed, strict=False):
            yield from _masked_values(value, shown, substitute)


class _Masked:
    """A variable's printed form with the secrets replaced; the report prints its repr."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


class SecretValueFilter(SafeExceptionReporterFilter):
    def secret_values(self):
        """Every setting value the report masks by name, so both agree on what is secret.

        The same rule as Django's (and as ``diffsettings``): SECRET_KEY, the
        database's PASSWORD, EMAIL_HOST_PASSWORD, the Redis ``password`` options.
        """
        values = set()
        for name in dir(settings):
            if name.isupper():
                real = getattr(settings, name)
                shown = self.cleanse_setting(name, real)
                values.update(_masked_values(real, shown, self.cleansed_substitute))
        return {value for value in values if len(value) >= SHORTEST_SECRET}

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        secrets = self.secret_values()
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
