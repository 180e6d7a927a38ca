from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import routers

from .views import CourseViewSet, SubjectViewSet, not_found

app_name = "api"

router = routers.DefaultRouter()
router.register("subjects", SubjectViewSet, basename="subject")
router.register("courses", CourseViewSet, basename="course")

urlpatterns = [
    path("", include(router.urls)),
    # OpenAPI 3 (YAML; JSON with ?format=json) and Swagger UI reading it. The
    # split view serves Swagger UI's start-up script as a file, which the
    # Content-Security-Policy (script-src 'self') lets run.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"", not_found),
]
