"""The release record that new Swarm tasks wait for (educa.release, wait_for_release)."""

import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from educa.release import record_path, record_release, recorded_release_id

pytestmark = pytest.mark.unit


@pytest.fixture
def image(tmp_path):
    """An image's release id file and an empty static volume."""
    release_file = tmp_path / "RELEASE"
    release_file.write_text("abc123\n")
    static = tmp_path / "static"
    static.mkdir()
    with override_settings(RELEASE_ID_FILE=release_file, STATIC_ROOT=static):
        yield release_file


def test_the_release_step_records_the_images_id(image):
    assert recorded_release_id() is None
    assert record_release() == "abc123"
    assert recorded_release_id() == "abc123"
    assert not list(record_path().parent.glob("*.new")), "the partial file was left behind"


def test_outside_an_image_nothing_is_recorded(image):
    image.unlink()
    assert record_release() is None
    assert not record_path().exists()


def test_waiting_ends_when_the_release_is_recorded(image, capsys):
    record_path().write_text("an-older-release\n")
    threading.Timer(0.5, record_release).start()
    started = time.monotonic()
    call_command("wait_for_release", timeout=10, interval=0.1)
    assert 0.4 < time.monotonic() - started < 10
    output = capsys.readouterr().out
    assert "waiting for the release step of abc123 (found an-older-release)" in output
    assert "release abc123 is in place" in output


def test_waiting_gives_up_naming_what_it_found(image):
    record_path().write_text("an-older-release\n")
    with pytest.raises(CommandError, match="did not finish within 0.3s .* holds an-older-release"):
        call_command("wait_for_release", timeout=0.3, interval=0.1)


def test_an_image_without_an_id_has_nothing_to_wait_for(image):
    image.unlink()
    with pytest.raises(CommandError, match="no release id"):
        call_command("wait_for_release", timeout=1)
