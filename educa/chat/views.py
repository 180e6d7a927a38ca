from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render

from courses.models import Course

from .models import Message
from .permissions import may_chat


@login_required
def course_chat_room(request, course_id):
    """The chat page of a course, with its most recent messages.

    An unknown course is a 404. A signed-in user who is neither enrolled nor
    the owner gets a 403: the course itself is public in the catalogue, only
    its room is closed to them.
    """
    course = get_object_or_404(Course, pk=course_id)
    if not may_chat(request.user, course):
        raise PermissionDenied("Enrol in this course to join its chat.")
    latest = (
        Message.objects.filter(course=course)
        .select_related("user")
        .order_by("-sent_on", "-pk")[: settings.CHAT_HISTORY_LENGTH]
    )
    history = list(reversed(latest))
    chat_config = {
        "courseId": course.pk,
        "socketPath": f"/ws/chat/room/{course.pk}/",
        "username": request.user.get_username(),
        "maxLength": settings.CHAT_MESSAGE_MAX_LENGTH,
        # the message rate the server takes, which the page keeps to
        "rateBurst": settings.CHAT_RATE_BURST,
        "ratePerSecond": settings.CHAT_RATE_PER_SECOND,
    }
    return render(
        request,
        "chat/room.html",
        {"course": course, "history": history, "chat_config": chat_config},
    )
