"""A chat message sent again with its key, by sockets racing each other, is stored once on PostgreSQL.

A client that lost its socket sends its unconfirmed messages again on the
next one; the first copy may be committing at that very moment on another
Daphne process. The unique constraint on (user, key) decides between them.
"""

import json
from pathlib import Path

import pytest

from tests.support.processes import run_python

pytestmark = pytest.mark.integration

WRITERS = 20
SCRIPT = Path(__file__).with_name("concurrent_inserts.py")


def test_one_key_sent_by_many_writers_at_once_is_stored_once(prod_env, migrated_database, db_connection):
    result = run_python(prod_env, SCRIPT, "chat-key", WRITERS)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == [], report["errors"]

    rows = db_connection.execute(
        "SELECT id, content FROM chat_message WHERE course_id = %s", [report["course"]]
    ).fetchall()
    assert len(rows) == 1
    # every writer got the one stored message back; exactly one of them stored it
    assert {stored["id"] for stored in report["stored"]} == {rows[0][0]}
    assert [stored["created"] for stored in report["stored"]].count(True) == 1
    assert len(report["stored"]) == WRITERS
