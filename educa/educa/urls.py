from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.generic import TemplateView

from courses.sitemaps import CourseSitemap
from courses.views import CourseListView, protected_media

from .views import after_login, favicon

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/home/", after_login, name="after_login"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("course/", include("courses.urls")),
    path("students/", include("students.urls")),
    path("chat/", include("chat.urls", namespace="chat")),
    path("api/", include("courses.api.urls", namespace="api")),
    path("media/<path:path>", protected_media, name="protected_media"),
    path(
        "robots.txt",
        TemplateView.as_view(template_name="robots.txt", content_type="text/plain"),
        name="robots_txt",
    ),
    path("sitemap.xml", sitemap, {"sitemaps": {"courses": CourseSitemap}}, name="sitemap"),
    path("favicon.ico", favicon, name="favicon"),
    path("", CourseListView.as_view(), name="course_list"),
]
