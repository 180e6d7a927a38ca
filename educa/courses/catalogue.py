"""Read-side queries of the public catalogue, cached in Redis.

Querysets with aggregates name their ordering explicitly: Django drops a
model's Meta.ordering from GROUP BY queries.

Each function returns plain lists (not lazy querysets) so what is cached is
the result, and each key names exactly what it holds and the version it
depends on: the catalogue's for lists spanning courses, the course's own for
anything inside one course. ``courses.signals`` bumps the versions on every
edit.
"""

import math

from django.db.models import Count

from .cache import catalogue_key, course_key, get_or_compute
from .models import Course, Subject

# Courses on one page of the catalogue or of a subject.
COURSES_PER_PAGE = 12

# Part of the rendered contents' keys: a release that renders items
# differently (text as Markdown since "r2") never reads the old HTML.
CONTENT_RENDERING = "r2"


def subjects_with_counts():
    """Every subject, each with ``total_courses``."""
    return get_or_compute(
        catalogue_key("subjects"),
        lambda: list(Subject.objects.annotate(total_courses=Count("courses")).order_by("title", "pk")),
    )


def _course_queryset():
    return (
        Course.objects.select_related("subject", "owner")
        .annotate(
            total_modules=Count("modules", distinct=True),
            total_students=Count("students", distinct=True),
        )
        .order_by("-created", "-pk")
    )


class CataloguePage:
    """One page of the catalogue: its courses and where it sits among the pages."""

    def __init__(self, courses, number, total):
        self.courses = courses
        self.number = number
        self.total = total
        self.num_pages = max(1, math.ceil(total / COURSES_PER_PAGE))

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.number < self.num_pages

    @property
    def previous_number(self):
        return self.number - 1

    @property
    def next_number(self):
        return self.number + 1


def catalogue_page(subjects, subject=None, number=1):
    """Page ``number`` of the catalogue (or of ``subject``), newest first; None past the end.

    ``subjects`` is ``subjects_with_counts()``, which the page shows anyway:
    its counts give the total, so no page costs a COUNT query, and only the
    page's own rows are read. Two queries on a cold cache whether the
    catalogue holds ten courses or ten thousand; none on a warm one.
    """
    if subject is None:
        total = sum(item.total_courses for item in subjects)
        courses = _course_queryset()
        scope = ("all",)
    else:
        total = subject.total_courses
        courses = _course_queryset().filter(subject_id=subject.pk)
        scope = ("subject", subject.pk)
    page = CataloguePage([], number, total)
    if number < 1 or number > page.num_pages:
        return None
    start = (number - 1) * COURSES_PER_PAGE
    page.courses = get_or_compute(
        catalogue_key("courses", *scope, "page", COURSES_PER_PAGE, number),
        lambda: list(courses[start : start + COURSES_PER_PAGE]),
    )
    return page


def course_by_slug(slug):
    """The course with ``slug`` (with subject, owner and counts), or None."""
    return get_or_compute(
        catalogue_key("course", "slug", slug),
        lambda: _course_queryset().filter(slug=slug).first(),
    )


def course_modules(course):
    """The course's modules in order, each with ``total_contents``."""
    return get_or_compute(
        course_key(course.pk, "modules"),
        lambda: list(course.modules.annotate(total_contents=Count("contents")).order_by("order", "pk")),
    )


def module_contents_key(module):
    """The cache key of ``module``'s rendered contents (None when the cache is down)."""
    return course_key(module.course_id, "module", module.pk, "contents", CONTENT_RENDERING)


def module_contents(module):
    """The module's contents, rendered, in order.

    A list of dicts ``{"id", "order", "type", "title", "html"}``. Rendering
    items is the expensive part of a course page, hence the cache; the key
    carries the course id and the module id, so modules of different courses
    can never share an entry.
    """

    def render():
        rendered = []
        # One query per item type, not one per content.
        for content in module.contents.select_related("content_type").prefetch_related("item"):
            item = content.item
            if item is None:  # the item was deleted behind the content's back
                continue
            rendered.append(
                {
                    "id": content.pk,
                    "order": content.order,
                    "type": content.content_type.model,
                    "title": item.title,
                    "html": item.render(),
                }
            )
        return rendered

    return get_or_compute(module_contents_key(module), render)
