"""The order of modules and contents under concurrent writers, on PostgreSQL.

Two instructors' tabs (or two uWSGI workers) adding a module to the same
course at the same moment must not produce two "module 3"s: every row gets a
distinct position and the positions stay 0..n-1.
"""

import json
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from tests.support.processes import run_python
from tests.support.site import SiteClient

from .conftest import delete_course, insert_course

pytestmark = pytest.mark.integration

WRITERS = 20
SCRIPT = Path(__file__).with_name("concurrent_inserts.py")


def insert_concurrently(prod_env, kind):
    result = run_python(prod_env, SCRIPT, kind, WRITERS)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == [], report["errors"]
    return report


def test_concurrent_new_modules_get_distinct_gap_free_positions(prod_env, migrated_database, db_connection):
    course = insert_concurrently(prod_env, "modules")["course"]

    orders = [
        order
        for (order,) in db_connection.execute(
            'SELECT "order" FROM courses_module WHERE course_id = %s ORDER BY "order"', [course]
        )
    ]
    assert orders == list(range(WRITERS))


def test_concurrent_new_contents_get_distinct_gap_free_positions(prod_env, migrated_database, db_connection):
    module = insert_concurrently(prod_env, "contents")["module"]

    orders = [
        order
        for (order,) in db_connection.execute(
            'SELECT "order" FROM courses_content WHERE module_id = %s ORDER BY "order"', [module]
        )
    ]
    assert orders == list(range(WRITERS))


def test_modules_added_through_the_cms_at_the_same_moment_get_distinct_positions(
    uwsgi_server, instructor_account, db_connection
):
    """Twenty module formsets posted at once to uWSGI's worker processes."""
    instructor = SiteClient(uwsgi_server.url)
    instructor.log_in(instructor_account.username, instructor_account.password)
    slug = f"crowded-{uuid.uuid4().hex[:8]}"
    created = instructor.post_form(
        "/course/create/",
        {"subject": instructor_account.subject_id, "title": "Crowded", "slug": slug, "overview": "-"},
    )
    assert created.status_code == 302, created.text
    course = int(created.headers["Location"].rstrip("/").split("/")[-2])
    barrier = threading.Barrier(WRITERS)
    statuses = []

    def add_module(number):
        tab = instructor.copy()
        formset = {
            "modules-TOTAL_FORMS": 1,
            "modules-INITIAL_FORMS": 0,
            "modules-MIN_NUM_FORMS": 0,
            "modules-MAX_NUM_FORMS": 1000,
            "modules-0-title": f"Module {number}",
            "modules-0-description": "",
        }
        barrier.wait()
        try:
            statuses.append(tab.post_form(f"/course/{course}/module/", formset).status_code)
        except requests.RequestException as error:
            statuses.append(repr(error))

    tabs = [threading.Thread(target=add_module, args=(number,)) for number in range(WRITERS)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()

    assert statuses == [302] * WRITERS, uwsgi_server.log()[-4000:]
    orders = [
        order
        for (order,) in db_connection.execute(
            'SELECT "order" FROM courses_module WHERE course_id = %s ORDER BY "order"', [course]
        )
    ]
    assert orders == list(range(WRITERS))


@pytest.fixture
def two_modules(db_connection):
    """A course with modules at positions 0 and 1, inserted directly; removed afterwards."""
    ids = insert_course(db_connection, "ordering", modules=[("Module 0", 0), ("Module 1", 1)])
    yield ids["course"], ids["modules"]
    delete_course(db_connection, ids)


def test_a_duplicate_position_is_refused_when_the_transaction_commits(db_connection, two_modules):
    course, _ = two_modules

    with pytest.raises(psycopg.errors.UniqueViolation), db_connection.transaction():
        db_connection.execute(
            'INSERT INTO courses_module (course_id, title, description, "order") '
            "VALUES (%s, 'Second module 0', '', 0)",
            [course],
        )

    count = db_connection.execute("SELECT count(*) FROM courses_module WHERE course_id = %s", [course])
    assert count.fetchone()[0] == 2


def test_two_modules_can_swap_positions_in_one_transaction(db_connection, two_modules):
    """What the drag-and-drop reorder does: briefly two rows share a position."""
    course, (first, second) = two_modules

    with db_connection.transaction():
        db_connection.execute('UPDATE courses_module SET "order" = 1 WHERE id = %s', [first])
        db_connection.execute('UPDATE courses_module SET "order" = 0 WHERE id = %s', [second])

    rows = db_connection.execute(
        'SELECT id FROM courses_module WHERE course_id = %s ORDER BY "order"', [course]
    ).fetchall()
    assert [row[0] for row in rows] == [second, first]
