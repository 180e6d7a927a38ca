"""Database sessions that only look up session keys Django could have issued."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

# Django's keys: 32 characters of lowercase letters and digits; the column holds 40.
LONGEST_KEY = 40


class SessionStore(DatabaseSessionStore):
    """The session cookie is client input, and Django only checks its length.

    A forged value with a NUL character (``"\\000"`` in a quoted cookie) went
    on to PostgreSQL, which refuses NUL in text: the request failed with a 500
    instead of being anonymous. Anything but a plain key is now no session.
    """

    def _validate_session_key(self, key):
        return bool(
            super()._validate_session_key(key) and len(key) <= LONGEST_KEY and key.isascii() and key.isalnum()
        )
