"""While the database is unreachable, pages answer 503 (try again), never a 500."""

import pytest
from django.db import OperationalError, ProgrammingError

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.fixture
def signed_in(client, make_user):
    client.force_login(make_user("ana"))
    return client


def failing_session_load(exception):
    def load(self):
        raise exception

    return load


def test_a_page_needing_the_database_answers_503_while_it_is_down(signed_in, monkeypatch):
    monkeypatch.setattr(
        "django.contrib.sessions.backends.db.SessionStore.load",
        failing_session_load(OperationalError("the database system is shutting down")),
    )
    response = signed_in.get("/students/courses/")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert response["Cache-Control"] == "no-store"
    assert "try again" in response.content.decode()


def test_other_database_errors_stay_server_errors(signed_in, monkeypatch):
    monkeypatch.setattr(
        "django.contrib.sessions.backends.db.SessionStore.load",
        failing_session_load(ProgrammingError("relation does not exist")),
    )
    signed_in.raise_request_exception = False
    response = signed_in.get("/students/courses/")
    assert response.status_code == 500
