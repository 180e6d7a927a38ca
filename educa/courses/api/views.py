from django.db.models import Count
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ..models import Course, Subject
from .permissions import CanViewCourseContents
from .serializers import (
    CourseSerializer,
    CourseWithContentsSerializer,
    EnrollmentSerializer,
    SubjectSerializer,
    prefetch_popular_courses,
)


class SubjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Subjects with their number of courses and their most followed courses."""

    queryset = (
        Subject.objects.annotate(total_courses=Count("courses"))
        .prefetch_related(prefetch_popular_courses())
        .order_by("title")
    )
    serializer_class = SubjectSerializer


class CourseViewSet(viewsets.ReadOnlyModelViewSet):
    """Courses with their modules; enrolment and contents for signed-in users."""

    queryset = (
        Course.objects.select_related("subject", "owner")
        .prefetch_related("modules")
        .annotate(total_students=Count("students", distinct=True))
        .order_by("-created", "-pk")
    )
    serializer_class = CourseSerializer
    # ScopedRateThrottle's scope: none but for the actions that name one
    throttle_scope = None

    # enrolling has a rate of its own (API_THROTTLE_ENROLL): a person enrols
    # in a few courses, a script in all of them
    @extend_schema(request=None, responses=EnrollmentSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated], throttle_scope="enroll")
    def enroll(self, request, *args, **kwargs):
        """Enrol the requesting user; enrolling twice changes nothing."""
        course = self.get_object()
        course.students.add(request.user)
        return Response({"enrolled": True})

    @action(
        detail=True,
        methods=["get"],
        permission_classes=[IsAuthenticated, CanViewCourseContents],
        serializer_class=CourseWithContentsSerializer,
    )
    def contents(self, request, *args, **kwargs):
        """The course's modules with their rendered contents, for its students and owner."""
        serializer = self.get_serializer(self.get_object())
        return Response(serializer.data)


@csrf_exempt  # it changes nothing; a POST still gets the JSON 404, not the CSRF failure page
def not_found(request):
    """Any other address under /api/: a JSON 404 like the API's own, not the site's HTML page.

    An id the router's pattern does not match (``/api/courses/0.5/``) never
    reaches a viewset; API clients still get the body the schema promises.
    """
    return JsonResponse({"detail": "Not found."}, status=404)
