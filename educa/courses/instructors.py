"""Making instructors and their courses outside the CMS: demo data, operators, tests.

One implementation behind ``load_demo_data``, ``create_instructor`` and
``create_course``, so an instructor made any of these ways is the same
thing: a user in the "Instructors" group, which the courses data migration
creates with the CMS permissions.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.text import slugify

from .models import Course, Module, Subject

INSTRUCTORS_GROUP = "Instructors"


def instructors_group():
    try:
        return Group.objects.get(name=INSTRUCTORS_GROUP)
    except Group.DoesNotExist as error:
        raise ImproperlyConfigured(
            f'The "{INSTRUCTORS_GROUP}" group is missing; run migrate first.'
        ) from error


def ensure_instructor(username, password=None, **fields):
    """The instructor ``username``, created if missing; return (user, created).

    ``password`` is set when given (an existing user keeps theirs otherwise);
    a new user without one cannot sign in until it is set. ``fields`` (e-mail,
    names) apply to a new user only.
    """
    group = instructors_group()
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=username, defaults=fields)
        if password:
            user.set_password(password)
            user.save(update_fields=["password"])
        elif created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(group)
    return user, created


def ensure_subject(slug, title=None):
    return Subject.objects.get_or_create(
        slug=slug, defaults={"title": title or slug.replace("-", " ").title()}
    )[0]


def create_course(owner, title, subject, slug=None, overview="", modules=()):
    """A new course of ``owner`` with empty modules titled ``modules``, in this order."""
    with transaction.atomic():
        course = Course.objects.create(
            owner=owner,
            subject=subject,
            title=title,
            slug=slug or slugify(title),
            overview=overview or f"About {title}.",
        )
        for module_title in modules:
            Module.objects.create(course=course, title=module_title)
    return course
