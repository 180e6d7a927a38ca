from rest_framework.permissions import BasePermission

from ..access import can_view_course_contents


class CanViewCourseContents(BasePermission):
    """The course's enrolled students, its owner and staff."""

    message = "Enrol in this course to see its contents."

    def has_object_permission(self, request, view, obj):
        return can_view_course_contents(request.user, obj)
