"""Django's own defences against volume: the sign-in lockout and the API's throttles.

NGINX limits each address as a whole (the stack layer's test_abuse_limits
attacks those through it); these are the per-account limits behind it.
"""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from courses.models import Course, Subject
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"
LOGIN = "/accounts/login/"


def sign_in(username, password, address):
    client = Client(REMOTE_ADDR=address)
    return client, client.post(LOGIN, {"username": username, "password": password})


def signed_in(client):
    return "_auth_user_id" in client.session


def lock_out(username, address=ATTACKER):
    """Fail to sign in as often as allowed: the form comes back, then the lockout."""
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [sign_in(username, "wrong-password", address)[1].status_code for _ in range(limit)]
    assert statuses == [200] * (limit - 1) + [429]


def test_repeated_wrong_passwords_lock_the_account_for_that_address(make_user):
    make_user("ana")
    make_user("bo")
    lock_out("ana")

    client, response = sign_in("ana", TEST_PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert not signed_in(client), "the right password still signs in during the lockout"
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert b"Too many attempts" in response.content

    # another account from the same address, and the same account from its
    # owner's address, are not affected: nobody can lock a student out
    for username, address in (("bo", ATTACKER), ("ana", OWNER)):
        client, response = sign_in(username, TEST_PASSWORD, address)
        assert response.status_code == 302 and signed_in(client), (username, address)


def test_an_admin_unlocks_the_account(make_user):
    make_user("ana")
    lock_out("ana")
    call_command("axes_reset_username", "ana")
    client, response = sign_in("ana", TEST_PASSWORD, ATTACKER)
    assert response.status_code == 302 and signed_in(client)


def test_the_admin_login_is_locked_out_too(make_user):
    make_user("root", is_staff=True, is_superuser=True)
    admin_login = f"/{settings.ADMIN_URL}login/"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=ATTACKER).post(admin_login, {"username": "root", "password": "nope"})
    client = Client(REMOTE_ADDR=ATTACKER)
    response = client.post(admin_login, {"username": "root", "password": TEST_PASSWORD})
    assert response.status_code == 429 and not signed_in(client)


def test_a_success_forgets_the_earlier_failures(make_user):
    make_user("ana")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in("ana", "wrong-password", ATTACKER)
    assert signed_in(sign_in("ana", TEST_PASSWORD, ATTACKER)[0])
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in("ana", "wrong-password", ATTACKER)
    assert signed_in(sign_in("ana", TEST_PASSWORD, ATTACKER)[0])


def test_the_address_is_the_connections_not_a_header(make_user):
    make_user("ana")
    for number in range(settings.AXES_FAILURE_LIMIT):
        client = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
        client.post(LOGIN, {"username": "ana", "password": "wrong-password"})
    client = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert client.post(LOGIN, {"username": "ana", "password": TEST_PASSWORD}).status_code == 429


def test_enrolling_through_the_api_has_a_rate_of_its_own(make_user):
    owner = make_user("teacher")
    subject = Subject.objects.create(title="Maths", slug="maths")
    courses = [
        Course.objects.create(owner=owner, subject=subject, title=f"Course {n}", slug=f"course-{n}")
        for n in range(3)
    ]
    rate, _, period = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["enroll"].partition("/")
    client = Client(REMOTE_ADDR=OWNER)
    client.force_login(make_user("ana"))
    answers = [client.post(f"/api/courses/{courses[n % 3].pk}/enroll/") for n in range(int(rate) + 1)]
    assert [answer.status_code for answer in answers[:-1]] == [200] * int(rate)
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Request was throttled")
    assert 0 < int(refused["Retry-After"]) <= {"hour": 3600, "min": 60, "day": 86400}[period]
    # the other endpoints keep the general rate: reading goes on
    assert client.get("/api/courses/").status_code == 200
