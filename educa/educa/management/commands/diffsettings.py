"""Django's ``diffsettings``, with secrets masked as in Django's error reports.

Django's command prints every setting as it is: SECRET_KEY, the database
password, EMAIL_HOST_PASSWORD, the Redis password in the cache's and the
channel layer's options. Its output ends up in terminals, support tickets and
CI logs. Here each value is cleansed by the exception reporter filter that
cleanses the settings of an error report (``cleanse_setting``: a value whose
name, or key in a dict, contains PASS, KEY, SECRET, TOKEN ... shows as stars),
so the two never disagree about what is secret. Which settings differ from
the defaults is still decided on the real values, so a changed secret is
listed, masked.

This replaces Django's command because the ``educa`` app comes before
Django's own in INSTALLED_APPS, and an app's command of the same name wins
over the core one.
"""

from django.core.management.commands import diffsettings
from django.views.debug import get_default_exception_reporter_filter


class _Cleansed:
    """A setting as printed (cleansed) that compares by its real value."""

    __slots__ = ("real", "shown")

    def __init__(self, real, shown):
        self.real = real
        self.shown = shown

    def __eq__(self, other):
        return isinstance(other, _Cleansed) and self.real == other.real

    __hash__ = None

    def __str__(self):
        return self.shown


def cleansed_settings(module):
    """``diffsettings.module_to_dict(module)`` with each value printed cleansed."""
    reporter_filter = get_default_exception_reporter_filter()
    return {
        name: _Cleansed(real, repr(reporter_filter.cleanse_setting(name, getattr(module, name))))
        for name, real in diffsettings.module_to_dict(module).items()
    }


class Command(diffsettings.Command):
    help = (
        "Displays differences between the current settings and Django's default settings, "
        "with secret values masked as in Django's error reports."
    )

    def handle(self, **options):
        from django.conf import Settings, global_settings, settings

        # Settings are loaded lazily, as in Django's command.
        if not settings.configured:
            settings._setup()

        user_settings = cleansed_settings(settings._wrapped)
        default = options["default"]
        default_settings = cleansed_settings(Settings(default) if default else global_settings)
        output_func = {"hash": self.output_hash, "unified": self.output_unified}[options["output"]]
        return "\n".join(output_func(user_settings, default_settings, **options))
