"""Checks applied to every file an instructor uploads.

The validators are plain functions so migrations refer to them by name: the
allowed list or the size limit can change without a new migration.
"""

from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

# Documents, archives and media a course commonly hands out. Nothing a browser
# would run as a page (html, svg, js) is accepted, because files are served
# from the site's own origin.
ALLOWED_FILE_EXTENSIONS = (
    "pdf",
    "txt",
    "md",
    "csv",
    "zip",
    "docx",
    "pptx",
    "xlsx",
    "odt",
    "odp",
    "ods",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "webp",
    "mp3",
    "ogg",
    "mp4",
    "webm",
)


def validate_upload_size(upload):
    """Refuse files larger than ``settings.UPLOAD_MAX_BYTES``."""
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            "This file is %(size)s; the largest accepted is %(limit)s.",
            code="file_too_large",
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )


def validate_file_extension(upload):
    """Accept only the extensions listed in ``ALLOWED_FILE_EXTENSIONS``."""
    extension = PurePosixPath(upload.name).suffix.lower().lstrip(".")
    if extension not in ALLOWED_FILE_EXTENSIONS:
        raise ValidationError(
            "Files of type “%(extension)s” are not accepted. Allowed types: %(allowed)s.",
            code="invalid_extension",
            params={
                "extension": extension or "(none)",
                "allowed": ", ".join(ALLOWED_FILE_EXTENSIONS),
            },
        )
