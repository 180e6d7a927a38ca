"""Only keys Django issues are looked up as sessions."""

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore

from educa.sessions import SessionStore
from tests.support.settings import load_prod

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.mark.parametrize(
    "key", ["\x00abcdefghijklmnop", "a" * 41, "résumé-not-a-key", "with space inside", "short"]
)
def test_a_key_django_could_not_have_issued_is_no_session(key):
    session = SessionStore(session_key=key)

    assert session.session_key is None
    assert session.load() == {}


def test_a_real_session_is_found_again():
    issued = DjangoSessionStore()
    issued["user"] = "ana"
    issued.save()

    assert SessionStore(session_key=issued.session_key).load() == {"user": "ana"}


def test_production_uses_it(monkeypatch):
    assert load_prod(monkeypatch).SESSION_ENGINE == "educa.sessions"
