"""The restore drill: a stack put back to a point in time from its backups volume, then from S3 alone.

A stack of its own, since the drill destroys its database, media and
backups volumes. It runs with docker-compose.s3.yml against moto's S3 over
HTTPS (tests/support/object_storage.py), so every backup goes to both
repositories. Everything goes through the documented commands
(docs/operations.md, "Backups"): ``educa-backup backup`` and ``list`` in the
backup service, ``docker compose run --rm restore`` with the stack stopped.
"""

import hashlib
import secrets
import subprocess
import time
from datetime import datetime

import pytest

from tests.support.journeys import (
    chat_round_trip,
    enrolled_student,
    instructor_with_course,
    load_demo_courses,
    say,
)
from tests.support.object_storage import OVERLAY, ObjectStorage, build_s3_image
from tests.support.stack import boot_stack, inspect_leaks, project_name
from tests.support.system import wait_until

pytestmark = pytest.mark.stack

COUNTS = (
    "select (select count(*) from auth_user) || ' users, ' || "
    "(select count(*) from courses_course) || ' courses, ' || "
    "(select count(*) from courses_content) || ' contents, ' || "
    "(select count(*) from courses_course_students) || ' enrolments, ' || "
    "(select count(*) from chat_message) || ' messages'"
)
NOW = "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
MEDIA_SUMS = "cd /srv/educa/media && find . -type f -exec sha256sum {} + | sort -k 2"


@pytest.fixture(scope="module")
def drilled_stack(tmp_path_factory):
    build_s3_image()
    workdir, project = tmp_path_factory.mktemp("backups"), project_name()
    storage = ObjectStorage(workdir, project)
    try:
        storage.start()
        stack = boot_stack(
            workdir,
            ("docker-compose.yml", "docker-compose.s3.yml", OVERLAY),
            project=project,
            # media snapshots every ten seconds, so the drill sees the schedule at work
            SCHEDULE_MEDIA_SNAPSHOT="*/10 * * * * *",
            **storage.settings(),
        )
        stack.storage = storage
        yield stack
        stack.remove()
    finally:
        storage.remove()


def upload(stack, instructor, title):
    """Upload a file of random bytes to the instructor's course; return its SHA-256."""
    data = b"%PDF-1.4\n" + secrets.token_bytes(20_000) + b"\n%%EOF\n"
    answer = instructor.client.post_form(
        f"/course/module/{instructor.modules[0]}/content/file/create/",
        {"title": title},
        files={"file": (f"{title}.pdf", data, "application/pdf")},
    )
    assert answer.status_code == 302, answer.text[:2000]
    return hashlib.sha256(data).hexdigest()


def media_sums(stack):
    return stack.exec("web", "sh", "-c", MEDIA_SUMS).stdout


def talk(stack, course, client, text):
    with stack.chat(course, client) as socket:
        say(socket, text)


def destroy_data(stack, *more):
    """Stop the stack and delete every volume but the backups (and the certificates), and ``more``."""
    stack.compose("stop", "--timeout", "30")
    stack.compose("rm", "--force")
    for volume in ("pgdata", "pgsocket", "media", "redisdata", *more):
        subprocess.run(
            ["docker", "volume", "rm", f"{stack.project}_{volume}"], check=True, capture_output=True
        )


def restore(stack, *options, check=True):
    started = time.monotonic()
    result = stack.compose("run", "--rm", "restore", *options, check=check, timeout=900)
    return result, time.monotonic() - started


def wait_until_backup_healthy(stack):
    """Wait for the backup service to be healthy again after the bucket came back; the seconds waited.

    An archive-push that began while the bucket was away may still wait out
    its own timeouts (its failure took about two minutes), and after three
    failures in a row PostgreSQL waits up to a minute before the next round:
    catching up can take that long, though it took about 10 s in most runs.
    """

    def healthy():
        state, reason = stack.health("backup")
        assert state == "healthy", f"{state}: {reason.strip()}"
        return True

    try:
        return wait_until(healthy, 240, "backup healthy again", pause=2)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{stack.logs('backup', 'db', tail=60)}") from None


def test_the_storages_keys_are_in_no_docker_inspect_and_readable_by_postgres_alone(drilled_stack):
    stack, storage = drilled_stack, drilled_stack.storage
    assert inspect_leaks(stack, {"BACKUP_S3_KEY": storage.key, "BACKUP_S3_KEY_SECRET": storage.secret}) == []
    for service in ("db", "backup"):
        owner = stack.exec(service, "stat", "-c", "%U %a", "/etc/pgbackrest/conf.d/s3.conf").stdout.split()
        assert owner == ["postgres", "600"], (service, owner)


def test_restore_to_a_time_brings_back_exactly_what_was_committed_before_it(drilled_stack):
    stack = drilled_stack
    # before T: courses, enrolments, chat messages and two uploaded files, then a full backup
    load_demo_courses(stack)
    chat = chat_round_trip(stack)
    instructor = instructor_with_course(stack)
    uploaded = {upload(stack, instructor, "before-1"), upload(stack, instructor, "before-2")}
    stack.exec("backup", "educa-backup", "backup", "--type", "full")

    # still before T, after the backup: only WAL has these
    _, student, course = enrolled_student(stack, "after-backup")
    talk(stack, course, student, "written after the backup, before T")
    expected_rows, expected_media = stack.psql(COUNTS), media_sums(stack)
    assert uploaded <= {line.split()[0] for line in expected_media.splitlines()}
    time.sleep(1)
    moment = stack.psql(NOW)
    time.sleep(1)

    # after T: none of it may come back
    enrolled_student(stack, "after-t")
    talk(stack, chat["course"], chat["client"], "written after T")
    upload(stack, instructor, "after-t")
    written_after = datetime.fromisoformat(stack.psql(NOW))
    assert stack.psql(COUNTS) != expected_rows

    # what db archives on its own (archive_timeout) is all a restore may use
    def archived_after_the_writes():
        archived = stack.psql("select coalesce(last_archived_time, '-infinity')::text from pg_stat_archiver")
        return archived != "-infinity" and datetime.fromisoformat(archived) > written_after

    waited = wait_until(
        archived_after_the_writes, 150, "the WAL written after T archived by archive_timeout", pause=2
    )
    print(f"\nthe last write was archived {waited:.0f} s later (archive_timeout, no switch asked for)")
    listing = stack.exec("backup", "educa-backup", "list").stdout
    assert listing.count("restorable from") == 2, listing  # the volume's repository and the bucket's
    # the first full backup and the one asked for take a snapshot each; the rest are the schedule's
    snapshots_logged = stack.logs("backup", tail=2000).count("INFO educa.backup: media snapshot ")
    assert snapshots_logged >= 3, f"no scheduled media snapshot ran ({snapshots_logged} in all)"

    destroy_data(stack)
    result, seconds = restore(stack, "--to", moment)
    print(f"\nrestore to {moment} took {seconds:.1f} s (pgBackRest verify, restore, WAL replay, media)")
    assert f"restore to {datetime.fromisoformat(moment).isoformat()} finished" in result.stdout, result.stdout
    stack.up()
    stack.wait_ready()

    assert stack.psql(COUNTS) == expected_rows
    assert media_sums(stack) == expected_media
    assert stack.psql("select count(*) from chat_message where content = 'written after T'") == "0"
    # the restored site works: the student from before T is signed in and chats
    talk(stack, course, student, "back after the restore")

    # a new machine: nothing left but the bucket
    uploaded = stack.storage.object_keys("educa/media/")
    assert any(key.endswith("/SHA256SUMS") for key in uploaded), f"no media snapshot there: {uploaded}"
    destroy_data(stack, "backups")
    result, seconds = restore(stack, "--to", moment)
    print(f"restore to {moment} from the S3 bucket alone took {seconds:.1f} s")
    assert "from repo2 (the S3 bucket)" in result.stdout, result.stdout
    assert "fetched from the S3 bucket" in result.stdout, result.stdout
    stack.up()
    stack.wait_ready()
    assert stack.psql(COUNTS) == expected_rows
    assert media_sums(stack) == expected_media
    talk(stack, course, student, "back after the restore from the bucket")
    # the backup service gives the empty volume its first backup again, and is healthy
    wait_until(
        lambda: "repo1 (the backups volume) (1)" in stack.exec("backup", "educa-backup", "list").stdout
        and stack.health("backup")[0] == "healthy",
        180, "a first backup in the new backups volume", pause=2,
    )  # fmt: skip


def test_a_bucket_out_of_reach_shows_in_compose_ps_and_gets_every_segment_later(drilled_stack):
    """The storage cut off the network: the media snapshots (every ten seconds here) fail at
    once and WAL archiving once pgBackRest gives up (a minute or two), so the backup service
    turns unhealthy saying why; once the storage is back, the segments PostgreSQL kept
    meanwhile reach the bucket and the service is healthy again (a job's failure shows until
    the next run succeeds)."""
    stack, storage = drilled_stack, drilled_stack.storage
    storage.cut_off()
    try:
        enrolled_student(stack, "while-the-bucket-is-away")
        stack.exec("db", "psql", "-U", "postgres", "-tAc", "select pg_switch_wal()")

        def archiving_fails():
            state, reason = stack.health("backup")
            return state == "unhealthy" and "WAL archiving is failing" in reason

        waited = wait_until(archiving_fails, 240, "the backup service unhealthy, archiving failing", pause=1)
        print(f"\nthe backup service unhealthy, archiving failing {waited:.0f} s after the storage went")
        [backup] = [c for c in stack.containers() if c["Service"] == "backup"]
        assert "unhealthy" in backup["Status"]
        segment = stack.health("backup")[1].split("(segment ")[1].split(")")[0]
        # what the healthcheck reports next: the snapshots' failure, recorded until one succeeds
        record = ["cat", "/tmp/educa-backup-failures/media-snapshot"]
        wait_until(
            lambda: stack.exec("backup", *record).stdout.startswith("the last media snapshot failed: rclone"),
            60, "the media snapshots' failure recorded",
        )  # fmt: skip
    finally:
        storage.reconnect()

    waited = wait_until_backup_healthy(stack)
    print(f"archiving caught up {waited:.0f} s after the bucket came back")
    archived = storage.object_keys("educa/pgbackrest/archive/")
    assert any(key.rsplit("/", 1)[-1].startswith(segment) for key in archived), (segment, archived[-5:])


def test_a_bucket_that_stops_answering_fails_the_media_snapshot_instead_of_hanging_it(drilled_stack):
    """The storage frozen: connections are accepted and never answered, the silence of a provider
    that hangs or a route that drops packets. rclone gives up on such a request after its
    timeouts (educa-backup: about 80 s for a listing; a copy under way first waits out its
    30 s read timeout) and the snapshot's failure is recorded for the healthcheck, where by default it
    would wait five minutes of silence per try, ten tries, while every snapshot scheduled
    meanwhile was skipped and nothing said so."""
    stack, storage = drilled_stack, drilled_stack.storage
    record = "/tmp/educa-backup-failures/media-snapshot"
    since = float(stack.exec("backup", "date", "+%s").stdout)
    storage.stop_answering()
    try:

        def snapshot_failure_recorded():
            # %Y: when the record was written, in the container's own clock
            found = stack.exec("backup", "sh", "-c", f"stat -c %Y {record} && cat {record}", check=False)
            written, _, text = found.stdout.partition("\n")
            return (
                found.returncode == 0
                and float(written) >= since
                and text.startswith("the last media snapshot failed: rclone")
            )

        try:
            waited = wait_until(
                snapshot_failure_recorded, 240, "the media snapshot's failure recorded", pause=2
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n{stack.logs('backup', tail=40)}") from None
        print(f"\nthe frozen bucket failed a media snapshot {waited:.0f} s after it stopped answering")
    finally:
        storage.answer_again()

    wait_until_backup_healthy(stack)


def test_a_restore_that_cannot_be_done_stops_and_changes_nothing(drilled_stack):
    """A time before every backup, then a corrupt WAL segment: each restore refused, saying why,
    and the database as it was."""
    stack = drilled_stack
    enrolled_student(stack, "last-words")
    stack.exec("db", "psql", "-U", "postgres", "-tAc", "select pg_switch_wal()")
    wait_until(
        lambda: stack.psql("select last_failed_wal is null or last_archived_time > last_failed_time "
                           "from pg_stat_archiver") == "t",
        30, "the WAL archived",
    )  # fmt: skip
    # one byte of the newest archived WAL segment changed
    stack.exec("backup", "sh", "-c",
               "f=$(ls -t /backups/pgbackrest/archive/educa/*/*/0* | head -1); "
               "printf 'X' | dd of=\"$f\" bs=1 seek=64 conv=notrunc status=none")  # fmt: skip
    before = stack.psql(COUNTS)
    stack.compose("stop", "--timeout", "30")

    too_early, _ = restore(stack, "--to", "2000-01-01T00:00:00Z", check=False)
    assert too_early.returncode != 0, too_early.stdout
    assert "nothing can be restored to an earlier time" in too_early.stdout, too_early.stdout

    corrupt, _ = restore(stack, check=False)
    assert corrupt.returncode != 0, corrupt.stdout
    assert "pgbackrest verify found the repository damaged" in corrupt.stdout, corrupt.stdout
    assert "checksum invalid: 1" in corrupt.stdout or "Data corruption" in corrupt.stdout, corrupt.stdout

    stack.up()
    assert stack.psql(COUNTS) == before, "a refused restore changed the database"
