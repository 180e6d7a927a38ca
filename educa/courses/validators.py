"""Checks applied to every file an instructor uploads.

The validators are plain functions so migrations refer to them by name: the
allowed list or the size limit can change without a new migration.
"""

from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from PIL import Image as PillowImage

# The picture formats every browser shows, with the extensions they may carry.
# Pillow knows many more (EPS and PDF among them, which it hands to
# Ghostscript); none of those is an Image content.
IMAGE_FORMATS = {"PNG": ("png",), "JPEG": ("jpg", "jpeg"), "GIF": ("gif",), "WEBP": ("webp",)}

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


def validate_image_format(upload):
    """Accept PNG, JPEG, GIF and WebP only, under their own extension, and only if they decode.

    The format is read from the bytes, not the name, and the whole picture is
    decoded: a truncated or forged file is refused here rather than shown
    broken. Pillow's decompression-bomb limit applies (it raises an error).
    """
    extension = PurePosixPath(upload.name).suffix.lower().lstrip(".")
    try:
        upload.seek(0)
        with PillowImage.open(upload) as picture:
            image_format = picture.format
            if image_format in IMAGE_FORMATS:
                picture.load()
    except Exception as error:  # Pillow raises many kinds for undecodable input
        raise ValidationError(
            "This file is not a picture that could be read.", code="invalid_image"
        ) from error
    finally:
        upload.seek(0)
    allowed = ", ".join(sorted({ext for extensions in IMAGE_FORMATS.values() for ext in extensions}))
    if image_format not in IMAGE_FORMATS:
        raise ValidationError(
            "Pictures must be PNG, JPEG, GIF or WebP (this one is %(format)s).",
            code="invalid_image_format",
            params={"format": image_format or "unknown"},
        )
    if extension not in IMAGE_FORMATS[image_format]:
        raise ValidationError(
            "This %(format)s picture is named “.%(extension)s”; use one of: %(allowed)s.",
            code="invalid_image_extension",
            params={"format": image_format, "extension": extension or "(none)", "allowed": allowed},
        )
