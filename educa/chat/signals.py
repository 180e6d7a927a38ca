"""Tell open chat sockets at once when their user may no longer be in the room.

A consumer checks membership when its socket opens and before storing each
message, which leaves a removed student, or one who signed out, reading the
room until they next send. These receivers reach every socket of the user
through the channel layer (``chat_user_<id>``, joined by each socket on
connecting), from whichever process made the change (uWSGI, a management
command, the admin), and the sockets close themselves.

A failed notification (the channel layer's Redis away) is logged and the
change itself goes on: signing out or removing a student must not fail
because of the chat.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete
from django.dispatch import receiver

from courses.models import Course

from .consumers import group_name, session_digest, user_group_name

logger = logging.getLogger(__name__)


def _send(group, event):
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        logger.exception("could not tell the chat sockets of %s about %s", group, event["type"])


def _membership_ended(user_ids, course_ids):
    """After the commit, so the consumers' new check sees the change; ``course_ids`` None: all."""
    courses = None if course_ids is None else sorted(course_ids)

    def notify():
        for user_id in user_ids:
            _send(user_group_name(user_id), {"type": "chat.membership", "courses": courses})

    transaction.on_commit(notify)


@receiver(m2m_changed, sender=Course.students.through, dispatch_uid="chat-enrolment-ended")
def enrolment_ended(sender, instance, action, reverse, pk_set, **kwargs):
    """A student removed from a course, or a course from a student, in any of the four ways."""
    if action == "pre_clear":
        # clear() gives no pk_set: note who (or what) is about to go.
        related = instance.courses_joined if reverse else instance.students
        instance._educa_chat_cleared = set(related.values_list("pk", flat=True))
        return
    if action == "post_clear":
        pk_set = getattr(instance, "_educa_chat_cleared", set())
    elif action != "post_remove":
        return
    if not pk_set:
        return
    if reverse:
        _membership_ended([instance.pk], pk_set)
    else:
        _membership_ended(pk_set, [instance.pk])


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="chat-user-deleted")
def user_deleted(sender, instance, **kwargs):
    """A deleted user leaves every course without an m2m signal."""
    _membership_ended([instance.pk], None)


@receiver(post_delete, sender=Course, dispatch_uid="chat-course-deleted")
def course_deleted(sender, instance, **kwargs):
    """Everybody leaves a deleted course's room: its sockets check again and close."""
    course_id = instance.pk

    def notify():
        _send(group_name(course_id), {"type": "chat.membership", "courses": [course_id]})

    transaction.on_commit(notify)


@receiver(user_logged_out, dispatch_uid="chat-signed-out")
def signed_out(sender, request, user, **kwargs):
    """Close the sockets opened with this session; the user's other browsers keep theirs.

    Sent at once (the session is about to be flushed): the consumers compare
    a digest of the session key, they do not look the session up.
    """
    session = getattr(request, "session", None)
    digest = session_digest(session.session_key if session is not None else None)
    if user is None or digest is None:
        return
    _send(user_group_name(user.pk), {"type": "chat.signed_out", "session": digest})
