"""The media snapshots of config/postgres/bin/educa-backup (real directories, real rsync) and its choices.

The database half (pgBackRest) is rehearsed on a running stack
(tests/stack/test_backups.py); here the snapshots' hard links, manifests and
the checks a restore makes before it copies anything, which repository a
restore takes, and which snapshots expire.
"""

import importlib.util
import os
from datetime import UTC, datetime, timedelta
from importlib.machinery import SourceFileLoader

import pytest

from tests.support.system import REPO

pytestmark = pytest.mark.unit


@pytest.fixture
def backup(tmp_path, monkeypatch):
    """The script as a module, its media and snapshot directories in ``tmp_path``."""
    loader = SourceFileLoader("educa_backup", str(REPO / "config/postgres/bin/educa-backup"))
    spec = importlib.util.spec_from_loader("educa_backup", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    monkeypatch.setattr(module, "MEDIA", tmp_path / "media")
    monkeypatch.setattr(module, "SNAPSHOTS", tmp_path / "snapshots")
    monkeypatch.setenv("EDUCA_APP_UID", str(os.getuid()))
    monkeypatch.setenv("EDUCA_APP_GID", str(os.getgid()))
    (tmp_path / "media" / "files").mkdir(parents=True)
    (tmp_path / "snapshots").mkdir()
    return module


def write(backup, name, data):
    path = backup.MEDIA / name
    path.write_bytes(data)
    return path


def test_unchanged_files_are_hard_links_to_the_previous_snapshot(backup):
    write(backup, "files/kept.pdf", b"kept")
    write(backup, "files/edited.pdf", b"first")
    first = backup.media_snapshot()
    write(backup, "files/edited.pdf", b"second version")
    write(backup, "files/new.pdf", b"new")
    second = backup.media_snapshot()

    assert first != second
    assert (first / "files/kept.pdf").stat().st_ino == (second / "files/kept.pdf").stat().st_ino
    assert (first / "files/edited.pdf").read_bytes() == b"first"
    assert (second / "files/edited.pdf").read_bytes() == b"second version"
    assert sorted(backup.read_manifest(second)) == ["files/edited.pdf", "files/kept.pdf", "files/new.pdf"]
    assert backup.read_manifest(second)["files/kept.pdf"] == backup.read_manifest(first)["files/kept.pdf"]


def test_restore_puts_back_the_newest_snapshot_taken_at_or_before_the_time(backup):
    write(backup, "files/a.pdf", b"a")
    first = backup.media_snapshot()
    between = datetime.now(UTC)
    write(backup, "files/b.pdf", b"b")
    backup.media_snapshot()
    write(backup, "files/c.pdf", b"written after the last snapshot")

    backup.restore_media(between)
    assert sorted(p.name for p in (backup.MEDIA / "files").iterdir()) == ["a.pdf"]
    assert not (backup.MEDIA / backup.MANIFEST).exists()
    assert first.exists()

    backup.restore_media(None)
    assert sorted(p.name for p in (backup.MEDIA / "files").iterdir()) == ["a.pdf", "b.pdf"]


def test_a_corrupt_snapshot_is_refused_before_anything_is_copied(backup):
    write(backup, "files/a.pdf", b"the original")
    snapshot = backup.media_snapshot()
    (snapshot / "files/a.pdf").unlink()  # a hard link: break it before changing the bytes
    (snapshot / "files/a.pdf").write_bytes(b"the 0riginal")
    write(backup, "files/a.pdf", b"what the volume holds now")

    with pytest.raises(backup.Failure, match="files/a.pdf does not match its checksum"):
        backup.restore_media(None)
    assert (backup.MEDIA / "files/a.pdf").read_bytes() == b"what the volume holds now"


def test_a_snapshot_missing_a_file_of_its_manifest_is_refused(backup):
    write(backup, "files/a.pdf", b"a")
    snapshot = backup.media_snapshot()
    (snapshot / "files/a.pdf").unlink()
    with pytest.raises(backup.Failure, match="does not match its manifest: files/a.pdf"):
        backup.restore_media(None)


def test_no_snapshot_old_enough_is_an_error(backup):
    write(backup, "files/a.pdf", b"a")
    backup.media_snapshot()
    with pytest.raises(backup.Failure, match="no media snapshot taken at or before"):
        backup.restore_media(datetime.now(UTC) - timedelta(hours=1))


def test_a_restore_time_needs_its_offset(backup):
    assert backup.target_time("2026-12-03T14:05:00Z") == datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
    with pytest.raises(Exception, match="give the time's offset"):
        backup.target_time("2026-12-03T14:05:00")
    with pytest.raises(Exception, match="not an ISO 8601 time"):
        backup.target_time("yesterday")


def backup_entry(repo, start, stop):
    """One backup as pgBackRest's ``info --output=json`` describes it (the fields the script reads)."""
    times = {"start": start.timestamp(), "stop": stop.timestamp()}
    return {"database": {"repo-key": repo}, "timestamp": times}


def test_a_restore_takes_the_first_repository_that_reaches_the_time(backup):
    noon = datetime(2026, 12, 3, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    # the volume keeps less than the bucket (a smaller retention)
    bucket, volume = backup_entry(2, noon - 3 * hour, noon - 2 * hour), backup_entry(1, noon - hour, noon)
    stanza = {"backup": [bucket, volume]}
    assert backup.choose_repository(stanza, None, [1, 2]) == 1
    assert backup.choose_repository(stanza, noon + hour, [1, 2]) == 1
    assert backup.choose_repository(stanza, noon - hour, [1, 2]) == 2
    assert backup.choose_repository(stanza, noon + hour, [2]) == 2
    with pytest.raises(backup.Failure, match="nothing can be restored to an earlier time"):
        backup.choose_repository(stanza, noon - 4 * hour, [1, 2])
    # a new machine: the volume is empty, the bucket is not
    assert backup.choose_repository({"backup": [bucket]}, None, [1, 2]) == 2
    with pytest.raises(backup.Failure, match=r"repo1 \(the backups volume\) holds no database backup"):
        backup.choose_repository({"backup": []}, None, [1])


def test_snapshots_no_kept_backup_can_use_are_the_ones_before_the_last_at_its_start(backup):
    start = datetime(2026, 12, 3, 12, tzinfo=UTC)
    minute = timedelta(minutes=1)
    taken = [(start - 30 * minute, "a"), (start - 15 * minute, "b"), (start, "c"), (start + minute, "d")]
    assert backup.unusable(taken, [backup_entry(1, start, start + minute)]) == ["a", "b"]
    assert backup.unusable(taken, [backup_entry(1, start - 20 * minute, start)]) == []
    assert backup.unusable(taken, []) == []


def test_a_job_asked_for_while_another_runs_waits_for_it(backup, tmp_path, monkeypatch):
    """ "Back up now" during a scheduled backup waits for it instead of failing or overlapping."""
    import threading

    monkeypatch.setattr(backup, "JOB_LOCK", tmp_path / "job.lock")
    events, running, release = [], threading.Event(), threading.Event()

    def scheduled():
        with backup.one_job_at_a_time():
            events.append("scheduled starts")
            running.set()
            release.wait(10)
            events.append("scheduled ends")

    def asked_for():
        with backup.one_job_at_a_time():
            events.append("asked-for starts")

    first = threading.Thread(target=scheduled)
    first.start()
    running.wait(10)
    second = threading.Thread(target=asked_for)
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second job did not wait"
    release.set()
    first.join(10)
    second.join(10)
    assert events == ["scheduled starts", "scheduled ends", "asked-for starts"]
