"""Migrations on a real PostgreSQL, run by manage.py with the production settings."""

import pytest

from tests.support.processes import manage

from .conftest import connect, insert_course, postgres_env

pytestmark = pytest.mark.integration

INSTRUCTOR_MODELS = ("course", "module", "content", "text", "video", "image", "file")


def test_migrate_builds_the_schema_from_an_empty_database(migrated_database, prod_env):
    output = migrated_database.stdout
    for migration in ("courses.0001_initial", "courses.0002_instructors_group", "chat.0001_initial"):
        assert f"Applying {migration}... OK" in output

    # Nothing left to apply, and a second run changes nothing.
    manage(prod_env, "migrate", "--check")
    assert "No migrations to apply." in manage(prod_env, "migrate", "--noinput").stdout


def test_the_models_and_the_migrations_agree(migrated_database, prod_env):
    result = manage(prod_env, "makemigrations", "--check", "--dry-run", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_system_checks_are_clean_against_postgresql(migrated_database, prod_env):
    # The test server speaks plain HTTP; deployed, HTTPS redirects are on.
    env = {**prod_env, "SECURE_SSL_REDIRECT": "True"}
    result = manage(env, "check", "--deploy", "--database", "default", "--fail-level", "WARNING")
    assert "no issues" in result.stdout


def test_the_instructors_group_can_manage_every_part_of_a_course(db_connection):
    rows = db_connection.execute(
        """
        SELECT p.codename FROM auth_group g
        JOIN auth_group_permissions gp ON gp.group_id = g.id
        JOIN auth_permission p ON p.id = gp.permission_id
        WHERE g.name = 'Instructors'
        """
    ).fetchall()
    codenames = {codename for (codename,) in rows}
    expected = {
        f"{action}_{model}" for model in INSTRUCTOR_MODELS for action in ("add", "change", "delete", "view")
    }
    assert codenames == expected


def test_the_order_of_modules_and_contents_is_unique_per_parent(db_connection):
    rows = db_connection.execute(
        """
        SELECT c.conrelid::regclass::text, c.condeferrable, c.condeferred,
               array(SELECT a.attname::text FROM unnest(c.conkey) AS k(n)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.n)
        FROM pg_constraint c
        WHERE c.contype = 'u' AND c.conrelid IN ('courses_module'::regclass, 'courses_content'::regclass)
        """
    ).fetchall()
    constraints = {
        table: (deferrable, deferred, sorted(columns)) for table, deferrable, deferred, columns in rows
    }
    # Deferred to the commit, so a reorder may swap positions within a transaction.
    assert constraints == {
        "courses_module": (True, True, ["course_id", "order"]),
        "courses_content": (True, True, ["module_id", "order"]),
    }


@pytest.fixture
def scratch_database(postgres, db_connection):
    """An empty database of the test's own next to the main one, and production settings for it."""
    db_connection.execute("DROP DATABASE IF EXISTS educa_scratch")
    db_connection.execute("CREATE DATABASE educa_scratch")
    # migrate must not need Redis: nothing listens at this address.
    yield postgres_env(postgres, dbname="educa_scratch") | {"REDIS_URL": "redis://127.0.0.1:1"}
    db_connection.execute("DROP DATABASE IF EXISTS educa_scratch WITH (FORCE)")


def test_positions_numbered_twice_before_the_constraint_are_renumbered(postgres, scratch_database):
    manage(scratch_database, "migrate", "courses", "0002", "--noinput")
    with connect(postgres, dbname="educa_scratch") as connection:
        # What the race left behind: two modules at position 0.
        insert_course(connection, "algebra", modules=[("Sets", 0), ("Groups", 0), ("Rings", 1)])

    manage(scratch_database, "migrate", "--noinput")

    with connect(postgres, dbname="educa_scratch") as connection:
        rows = connection.execute('SELECT "order", title FROM courses_module ORDER BY "order"').fetchall()
    assert rows == [(0, "Sets"), (1, "Groups"), (2, "Rings")]


def test_the_migrations_can_be_reversed_and_applied_again(postgres, scratch_database):
    manage(scratch_database, "migrate", "--noinput")
    manage(scratch_database, "migrate", "courses", "zero", "--noinput")

    with connect(postgres, dbname="educa_scratch") as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'courses\\_%' OR tablename LIKE 'chat\\_%'"
        ).fetchone()[0]
        groups = connection.execute("SELECT count(*) FROM auth_group WHERE name = 'Instructors'").fetchone()[
            0
        ]
    assert (tables, groups) == (0, 0)
    manage(scratch_database, "migrate", "--noinput")
