"""Errors to Sentry, through the official sentry-sdk, when SENTRY_DSN is set.

The production settings call ``start_sentry``; without a DSN nothing here
runs and the error reports e-mailed to ADMINS are the only channel (they
keep working with it too). Unhandled exceptions in views and consumers, and
every log line at ERROR, become events.

What an event may carry is held to what an error report may carry
(educa.error_reports): no personal data (``send_default_pii`` off), and the
value of every secret the settings hold replaced by stars wherever it
appears, in a frame's local variables as much as in a message. Each event is
tagged with the request id, which NGINX, uWSGI and Django write in their log
lines (educa.request_id), so an event leads to the request's log lines.
"""

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

from .error_reports import SecretValueFilter
from .request_id import NO_REQUEST, current


def _masked(value, secrets, substitute):
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, substitute)
        return value
    if isinstance(value, dict):
        return {key: _masked(item, secrets, substitute) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, secrets, substitute) for item in value]
    return value


def before_send(event, hint):
    """Mask the secrets' values anywhere in the event; tag it with the request id."""
    report_filter = SecretValueFilter()
    event = _masked(event, report_filter.secret_values(), report_filter.cleansed_substitute)
    request_id = current.get()
    if request_id != NO_REQUEST:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def start_sentry(dsn, environment, release=None):
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        before_send=before_send,
        # errors only: performance tracing is a choice of its own
        traces_sample_rate=0.0,
    )
