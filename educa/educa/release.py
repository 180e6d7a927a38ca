"""Which release the shared volumes hold, so a new version serves only once its release step ran.

On Swarm the release step (``manage.py release``: checks, migrations, static
files) is a one-off job that ``docker stack deploy`` starts at the same time
as the new web and Daphne tasks; Swarm cannot order them. So each image
carries an id of its code and dependencies (``RELEASE_ID_FILE``, written when
the image is built), the release step records that id beside the collected
static files when it has finished, and a new task waits
(``manage.py wait_for_release``) until the recorded id is its own: until then
it is not healthy, takes no traffic, and the old tasks keep serving. With
Compose, ``depends_on`` gives the same order and nothing waits.
"""

from pathlib import Path

from django.conf import settings

RECORD_NAME = ".educa-release"


def image_release_id():
    """This image's release id, or None outside an image (a checkout has none)."""
    try:
        return Path(settings.RELEASE_ID_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def record_path():
    return Path(settings.STATIC_ROOT) / RECORD_NAME


def recorded_release_id():
    """The id the last finished release step recorded, or None."""
    try:
        return record_path().read_text().strip() or None
    except FileNotFoundError:
        return None


def record_release():
    """Record this image's release as finished (a no-op without an id); return the id."""
    release_id = image_release_id()
    if release_id is None:
        return None
    path = record_path()
    partial = path.with_name(f"{RECORD_NAME}.new")
    partial.write_text(f"{release_id}\n")
    # atomic: a waiting task never reads half an id
    partial.replace(path)
    return release_id
