from django.urls import include, path
from rest_framework import routers

from .views import CourseViewSet, SubjectViewSet

app_name = "api"

router = routers.DefaultRouter()
router.register("subjects", SubjectViewSet, basename="subject")
router.register("courses", CourseViewSet, basename="course")

urlpatterns = [path("", include(router.urls))]
