"""Cache invalidation: whatever an instructor edits is visible on the next request.

Cached entries carry version numbers (see ``courses.cache``). Every write
that changes what a course shows bumps that course's version, and with it the
catalogue's.

The bump happens twice: at once, so the request that made the change sees it,
and again when the transaction commits, so a reader that cached the old rows
between the first bump and the commit is not believed either. After that,
the pages NGINX caches for anonymous visitors are rendered again
(``courses.page_cache``).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from . import page_cache
from .cache import invalidate_catalogue, invalidate_course, invalidate_permissions
from .models import Content, Course, File, Image, Module, Subject, Text, Video

ITEM_MODELS = (Text, Video, Image, File)
User = get_user_model()


def _forget_courses(course_ids):
    course_ids = {course_id for course_id in course_ids if course_id is not None}

    def bump():
        for course_id in course_ids:
            invalidate_course(course_id)

    bump()
    transaction.on_commit(bump)
    page_cache.pages_changed(course_ids)


def _forget_catalogue():
    invalidate_catalogue()
    transaction.on_commit(invalidate_catalogue)
    page_cache.pages_changed()


def courses_of_item(item):
    """Ids of the courses whose contents point at ``item`` (a Text, Video, ...)."""
    content_type = ContentType.objects.get_for_model(item)
    return set(
        Content.objects.filter(content_type=content_type, object_id=item.pk).values_list(
            "module__course_id", flat=True
        )
    )


@receiver([post_save, post_delete], sender=Subject)
def subject_changed(sender, instance, **kwargs):
    _forget_catalogue()


@receiver([post_save, post_delete], sender=Course)
def course_changed(sender, instance, **kwargs):
    _forget_courses([instance.pk])


@receiver([post_save, post_delete], sender=Module)
def module_changed(sender, instance, **kwargs):
    _forget_courses([instance.course_id])


@receiver(post_save, sender=Content)
def content_saved(sender, instance, **kwargs):
    _forget_courses([instance.module.course_id])


@receiver(pre_delete, sender=Content)
def content_deleted(sender, instance, **kwargs):
    # Before the delete, so the module (possibly deleted in the same cascade)
    # can still be looked up.
    course_id = Module.objects.filter(pk=instance.module_id).values_list("course_id", flat=True).first()
    _forget_courses([course_id])


def item_changed(sender, instance, **kwargs):
    _forget_courses(courses_of_item(instance))


for _item_model in ITEM_MODELS:
    post_save.connect(item_changed, sender=_item_model, dispatch_uid=f"courses-item-saved-{_item_model}")
    pre_delete.connect(item_changed, sender=_item_model, dispatch_uid=f"courses-item-deleted-{_item_model}")


@receiver(m2m_changed, sender=Course.students.through)
def enrolment_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """Enrolment counts are part of the catalogue and the course pages."""
    if reverse and action == "pre_clear":
        # A user leaves every course at once; pk_set is not given for clears.
        instance._educa_courses_left = list(instance.courses_joined.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        _forget_courses([instance.pk])
    elif action == "post_clear":
        _forget_courses(getattr(instance, "_educa_courses_left", []))
    else:
        _forget_courses(pk_set or [])


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def user_deleted(sender, instance, **kwargs):
    """A deleted user leaves their courses without an m2m signal (the cascade is silent).

    Their enrolments count on course pages, and their name shows on the
    courses they own: both must go from the cache.
    """
    joined = instance.courses_joined.values_list("pk", flat=True)
    owned = Course.objects.filter(owner=instance).values_list("pk", flat=True)
    _forget_courses([*joined, *owned])


# What is cached about permissions (courses.context_processors) is keyed by
# one version; any change that can alter a user's permissions bumps it, now
# and again at commit, as for courses.


def _forget_permissions():
    invalidate_permissions()
    transaction.on_commit(invalidate_permissions)


@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=User.user_permissions.through)
@receiver(m2m_changed, sender=Group.permissions.through)
def permissions_assigned(sender, action, **kwargs):
    if action.startswith("post_"):
        _forget_permissions()


@receiver([post_save, post_delete], sender=User)
def user_changed(sender, instance, update_fields=None, **kwargs):
    # A sign-in saves last_login alone: nothing about permissions.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _forget_permissions()


@receiver([post_save, post_delete], sender=Group)
@receiver([post_save, post_delete], sender=Permission)
def group_or_permission_changed(sender, instance, **kwargs):
    _forget_permissions()
