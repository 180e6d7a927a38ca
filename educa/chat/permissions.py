"""Who may take part in a course's chat: its enrolled students and its owner."""

from django.db.models import Q

from courses.access import is_enrolled
from courses.models import Course


def chat_course_for(user, course_id):
    """Return the course if ``user`` may chat in it, else None.

    Unknown courses and outsiders get the same answer, so the socket cannot be
    used to probe which course ids exist.
    """
    if user is None or not user.is_authenticated:
        return None
    return Course.objects.filter(pk=course_id).filter(Q(owner=user) | Q(students=user)).distinct().first()


def may_chat(user, course):
    """The owner and enrolled students; unlike course contents, staff are not let in."""
    return user.is_authenticated and (course.owner_id == user.pk or is_enrolled(user, course))
