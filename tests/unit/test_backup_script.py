"""The media snapshots of config/postgres/bin/educa-backup, on real directories with real rsync.

The database half (pgBackRest) is rehearsed on a running stack
(tests/stack/test_backups.py); here the snapshots' hard links, manifests and
the checks a restore makes before it copies anything.
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
