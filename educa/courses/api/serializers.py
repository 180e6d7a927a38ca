from django.db.models import Count, Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..catalogue import module_contents
from ..models import Course, Module, Subject

POPULAR_COURSES_SHOWN = 3


def prefetch_popular_courses():
    """Each subject's most followed courses as ``popular_courses``, for all subjects in one query."""
    courses = Course.objects.annotate(total_students=Count("students")).order_by("-total_students", "title")
    return Prefetch("courses", queryset=courses[:POPULAR_COURSES_SHOWN], to_attr="popular_courses")


class PopularCourseSerializer(serializers.ModelSerializer):
    total_students = serializers.IntegerField(read_only=True)

    class Meta:
        model = Course
        fields = ["id", "title", "slug", "total_students"]


class SubjectSerializer(serializers.ModelSerializer):
    """Needs subjects annotated with ``total_courses`` and ``prefetch_popular_courses()``."""

    total_courses = serializers.IntegerField(read_only=True)
    popular_courses = PopularCourseSerializer(many=True, read_only=True)

    class Meta:
        model = Subject
        fields = ["id", "title", "slug", "total_courses", "popular_courses"]


class ModuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Module
        fields = ["id", "order", "title", "description"]


class CourseSerializer(serializers.ModelSerializer):
    subject = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    total_students = serializers.IntegerField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    modules = ModuleSerializer(many=True, read_only=True)

    class Meta:
        model = Course
        fields = [
            "id",
            "subject",
            "title",
            "slug",
            "overview",
            "created",
            "owner",
            "total_students",
            "url",
            "modules",
        ]


class RenderedContentSerializer(serializers.Serializer):
    """One content of a module, rendered as the course player shows it."""

    order = serializers.IntegerField()
    type = serializers.ChoiceField(choices=["text", "video", "image", "file"])
    title = serializers.CharField()
    html = serializers.CharField(help_text="The content as HTML, ready to show.")


class ModuleWithContentsSerializer(ModuleSerializer):
    """A module and its rendered contents (shared with the course pages' cache)."""

    contents = serializers.SerializerMethodField()

    class Meta(ModuleSerializer.Meta):
        fields = [*ModuleSerializer.Meta.fields, "contents"]

    @extend_schema_field(RenderedContentSerializer(many=True))
    def get_contents(self, module):
        return [
            {
                "order": content["order"],
                "type": content["type"],
                "title": content["title"],
                "html": content["html"],
            }
            for content in module_contents(module)
        ]


class CourseWithContentsSerializer(CourseSerializer):
    modules = ModuleWithContentsSerializer(many=True, read_only=True)


class EnrollmentSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField()
