"""Public pages: the catalogue, a course's detail page, and course files."""

import mimetypes
import posixpath
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.views.generic import TemplateView

from .access import is_enrolled
from .catalogue import catalogue_page, course_by_slug, course_modules, subjects_with_counts
from .models import Course, File, Image


class CourseListView(TemplateView):
    """The catalogue, a page at a time: every course, or those of one subject, with subject counts."""

    template_name = "courses/course/list.html"

    def get_context_data(self, subject=None, **kwargs):
        context = super().get_context_data(**kwargs)
        # One list serves the sidebar, the totals and the subject lookup: with
        # the cache down, each extra call would be another database query.
        subjects = subjects_with_counts()
        selected = None
        if subject is not None:
            selected = next((item for item in subjects if item.slug == subject), None)
            if selected is None:
                raise Http404("No such subject.")
        page = catalogue_page(subjects, selected, _page_number(self.request))
        if page is None:
            raise Http404("No such page.")
        context.update(
            subjects=subjects,
            subject=selected,
            page=page,
            courses=page.courses,
            total_courses=sum(item.total_courses for item in subjects),
        )
        return context


def _page_number(request):
    """The ``page`` query parameter as a number (1 when absent); 0 for anything unusable."""
    value = request.GET.get("page", "1")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else 0


class CourseDetailView(TemplateView):
    """A course's overview and outline, with the way in: enrol, continue or sign in."""

    template_name = "courses/course/detail.html"

    def get_context_data(self, slug, **kwargs):
        context = super().get_context_data(**kwargs)
        course = course_by_slug(slug)
        if course is None:
            raise Http404("No such course.")
        user = self.request.user
        context.update(
            course=course,
            object=course,
            modules=course_modules(course),
            enrolled=is_enrolled(user, course),
            is_owner=user.is_authenticated and course.owner_id == user.pk,
        )
        return context


def _canonical_media_name(path):
    """``path`` if it is a plain relative name inside the media folder, else None.

    Stored file names are always canonical, so anything that changes under
    normalisation (``..``, ``./``, doubled slashes) cannot name an upload and
    is refused before touching the disk.
    """
    if not path or "\\" in path or "\x00" in path or path.startswith("/"):
        return None
    if posixpath.normpath(path) != path or path.split("/")[0] == "..":
        return None
    return path


def _uploaded_item(name):
    """The File or Image item stored under ``name``, or None."""
    for model in (File, Image):
        item = model.objects.filter(file=name).first()
        if item is not None:
            return item
    return None


def _may_download(user, item):
    if user.is_staff or item.owner_id == user.pk:
        return True
    content_type = ContentType.objects.get_for_model(item)
    return (
        Course.objects.filter(
            modules__contents__content_type=content_type,
            modules__contents__object_id=item.pk,
        )
        .filter(Q(owner=user) | Q(students=user))
        .exists()
    )


@login_required
def protected_media(request, path):
    """Serve an uploaded course file to the people allowed to see its course.

    Anything else — unknown file, foreign course, odd path — is a plain 404 so
    the answer says nothing about which files exist. In production NGINX sends
    the bytes: the response only carries ``X-Accel-Redirect`` to its internal
    location. Without that setting (development, tests) Django streams the file.
    Only pictures open in the page; every other file is a download
    (``attachment``), so nothing an instructor uploads renders as a document
    of the site's origin.
    """
    name = _canonical_media_name(path)
    item = _uploaded_item(name) if name else None
    if item is None or not _may_download(request.user, item) or not default_storage.exists(name):
        raise Http404("No such file.")

    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    prefix = settings.PROTECTED_MEDIA_ACCEL_PREFIX
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{quote(name)}"
        response["Content-Disposition"] = content_disposition_header(
            not isinstance(item, Image), posixpath.basename(name)
        )
    else:
        response = FileResponse(
            default_storage.open(name, "rb"),
            content_type=content_type,
            as_attachment=not isinstance(item, Image),
            filename=posixpath.basename(name),
        )
    # Only the user's own browser may keep a copy, never a shared cache.
    response["Cache-Control"] = "private"
    return response
