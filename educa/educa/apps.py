from django.apps import AppConfig


class EducaConfig(AppConfig):
    """The project's own app: its management commands, and the request id on log lines."""

    name = "educa"

    def ready(self):
        from .request_id import connect_signals

        connect_signals()
