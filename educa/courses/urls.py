from django.urls import path

from . import cms_views, views

urlpatterns = [
    # Instructor CMS
    path("mine/", cms_views.ManageCourseListView.as_view(), name="manage_course_list"),
    path("create/", cms_views.CourseCreateView.as_view(), name="course_create"),
    path("<int:pk>/edit/", cms_views.CourseUpdateView.as_view(), name="course_edit"),
    path("<int:pk>/delete/", cms_views.CourseDeleteView.as_view(), name="course_delete"),
    path("<int:pk>/module/", cms_views.CourseModuleUpdateView.as_view(), name="course_module_update"),
    path(
        "module/<int:module_id>/content/<str:model_name>/create/",
        cms_views.ContentCreateUpdateView.as_view(),
        name="module_content_create",
    ),
    path(
        "module/<int:module_id>/content/<str:model_name>/<int:id>/",
        cms_views.ContentCreateUpdateView.as_view(),
        name="module_content_update",
    ),
    path("content/<int:id>/delete/", cms_views.ContentDeleteView.as_view(), name="module_content_delete"),
    path("module/<int:module_id>/", cms_views.ModuleContentListView.as_view(), name="module_content_list"),
    path("module/order/", cms_views.ModuleOrderView.as_view(), name="module_order"),
    path("content/order/", cms_views.ContentOrderView.as_view(), name="content_order"),
    # Public catalogue
    path("subject/<slug:subject>/", views.CourseListView.as_view(), name="course_list_subject"),
    path("<slug:slug>/", views.CourseDetailView.as_view(), name="course_detail"),
]
