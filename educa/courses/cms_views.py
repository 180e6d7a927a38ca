"""The instructor CMS: courses, their modules and the contents of each module.

Every view needs a signed-in user (anonymous visitors are sent to the login
page), the matching model permission (granted by the "Instructors" group) and
ownership: querysets are filtered by owner, so another instructor's course,
module or content is a 404 rather than a 403 that would confirm it exists.
"""

import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.db import transaction
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.views import View
from django.views.generic import CreateView, DeleteView, ListView, UpdateView
from django.views.generic.base import TemplateResponseMixin

from .cache import invalidate_course
from .forms import ITEM_FORMS, CourseForm, ModuleFormSet
from .models import Content, Course, Module

# PositiveIntegerField's upper bound on every database Django supports.
MAX_ORDER = 2_147_483_647
# The largest primary key (BigAutoField). A larger number cannot name a row,
# and SQLite refuses to even compare it (OverflowError, a 500).
MAX_ID = 2**63 - 1


class InstructorMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Signed in (else redirect to login) and holding the permission (else 403)."""


class OwnCourseMixin(InstructorMixin):
    def get_queryset(self):
        return Course.objects.filter(owner=self.request.user)


class ManageCourseListView(OwnCourseMixin, ListView):
    permission_required = "courses.view_course"
    template_name = "courses/manage/course/list.html"
    context_object_name = "courses"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("subject")
            .annotate(
                total_modules=Count("modules", distinct=True),
                total_students=Count("students", distinct=True),
            )
            .order_by("-created", "-pk")
        )


class CourseCreateView(OwnCourseMixin, CreateView):
    permission_required = "courses.add_course"
    form_class = CourseForm
    template_name = "courses/manage/course/form.html"

    def form_valid(self, form):
        form.instance.owner = self.request.user
        response = super().form_valid(form)
        messages.success(self.request, f"“{self.object}” was created. Now add its modules.")
        return response

    def get_success_url(self):
        return reverse("course_module_update", args=[self.object.pk])


class CourseUpdateView(OwnCourseMixin, UpdateView):
    permission_required = "courses.change_course"
    form_class = CourseForm
    template_name = "courses/manage/course/form.html"
    success_url = reverse_lazy("manage_course_list")

    def form_valid(self, form):
        messages.success(self.request, f"“{form.instance}” was saved.")
        return super().form_valid(form)


class CourseDeleteView(OwnCourseMixin, DeleteView):
    permission_required = "courses.delete_course"
    template_name = "courses/manage/course/delete.html"
    success_url = reverse_lazy("manage_course_list")

    def form_valid(self, form):
        messages.success(self.request, f"“{self.object}” was deleted.")
        return super().form_valid(form)


class CourseModuleUpdateView(InstructorMixin, TemplateResponseMixin, View):
    """All modules of one course in a single formset: add, rename, describe, remove."""

    permission_required = "courses.change_course"
    template_name = "courses/manage/module/formset.html"

    def get_course(self):
        return get_object_or_404(Course, pk=self.kwargs["pk"], owner=self.request.user)

    def render_formset(self, course, formset):
        return self.render_to_response({"course": course, "formset": formset})

    def get(self, request, *args, **kwargs):
        course = self.get_course()
        return self.render_formset(course, ModuleFormSet(instance=course))

    def post(self, request, *args, **kwargs):
        course = self.get_course()
        formset = ModuleFormSet(data=request.POST, instance=course)
        if not formset.is_valid():
            return self.render_formset(course, formset)
        formset.save()
        messages.success(request, "The modules were saved.")
        return redirect("course_module_update", pk=course.pk)


class ContentCreateUpdateView(InstructorMixin, TemplateResponseMixin, View):
    """Create (no ``id``) or edit one text, video, image or file of a module."""

    template_name = "courses/manage/content/form.html"

    def get_permission_required(self):
        action = "change" if "id" in self.kwargs else "add"
        permissions = [f"courses.{action}_content"]
        if self.kwargs["model_name"] in ITEM_FORMS:
            permissions.append(f"courses.{action}_{self.kwargs['model_name']}")
        return permissions

    def setup_objects(self):
        """Load the module, the item type and (when editing) the item; 404 on any mismatch."""
        model_name = self.kwargs["model_name"]
        if model_name not in ITEM_FORMS:
            raise Http404("No such content type.")
        self.form_class = ITEM_FORMS[model_name]
        self.module = get_object_or_404(
            Module.objects.select_related("course"),
            pk=self.kwargs["module_id"],
            course__owner=self.request.user,
        )
        self.item = None
        if "id" in self.kwargs:
            model = self.form_class._meta.model
            content = get_object_or_404(
                Content,
                module=self.module,
                content_type__app_label="courses",
                content_type__model=model_name,
                object_id=self.kwargs["id"],
            )
            self.item = get_object_or_404(model, pk=content.object_id, owner=self.request.user)

    def render_form(self, form):
        return self.render_to_response(
            {
                "form": form,
                "module": self.module,
                "course": self.module.course,
                "object": self.item,
                "model_name": self.kwargs["model_name"],
            }
        )

    def get(self, request, *args, **kwargs):
        self.setup_objects()
        return self.render_form(self.form_class(instance=self.item))

    def post(self, request, *args, **kwargs):
        self.setup_objects()
        form = self.form_class(data=request.POST, files=request.FILES, instance=self.item)
        if not form.is_valid():
            return self.render_form(form)
        with transaction.atomic():
            item = form.save(commit=False)
            item.owner = request.user
            item.save()
            if self.item is None:
                Content.objects.create(module=self.module, item=item)
        messages.success(request, f"“{item}” was saved.")
        return redirect("module_content_list", module_id=self.module.pk)


class ContentDeleteView(InstructorMixin, View):
    permission_required = "courses.delete_content"
    http_method_names = ["post"]

    def post(self, request, id):
        content = get_object_or_404(
            Content.objects.select_related("module"), pk=id, module__course__owner=request.user
        )
        module = content.module
        item = content.item
        with transaction.atomic():
            content.delete()
            if item is not None:
                item.delete()
        messages.success(request, "The content was deleted.")
        return redirect("module_content_list", module_id=module.pk)


class ModuleContentListView(InstructorMixin, TemplateResponseMixin, View):
    """One module's contents, in order, with the tools to add, edit, delete and reorder them."""

    permission_required = "courses.view_content"
    template_name = "courses/manage/module/content_list.html"

    def get(self, request, module_id):
        module = get_object_or_404(
            Module.objects.select_related("course"), pk=module_id, course__owner=request.user
        )
        contents = module.contents.select_related("content_type").prefetch_related("item")
        return self.render_to_response(
            {
                "module": module,
                "course": module.course,
                "modules": module.course.modules.all(),
                "contents": contents,
                "item_types": list(ITEM_FORMS),
            }
        )


class BadOrder(ValueError):
    """The posted order is not a JSON object of the requester's ids to positions."""


def parse_order(body):
    """``{"<id>": <position>, ...}`` -> ``{id: position}``; BadOrder otherwise."""
    try:
        data = json.loads(body)
    except ValueError as error:
        # Also covers bad UTF-8 and integers too long for Python to convert,
        # which are ValueErrors but not JSONDecodeErrors.
        raise BadOrder("The body is not valid JSON.") from error
    if not isinstance(data, dict) or not data:
        raise BadOrder('Expected a non-empty JSON object such as {"12": 0, "15": 1}.')
    order = {}
    for key, position in data.items():
        if not (key.isascii() and key.isdigit() and len(key) <= len(str(MAX_ID)) and int(key) <= MAX_ID):
            raise BadOrder(f"{key!r} is not an id.")
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= MAX_ORDER:
            raise BadOrder(f"The position of {key} must be a non-negative integer.")
        order[int(key)] = position
    return order


class OrderView(InstructorMixin, View):
    """Save a new order posted by the drag-and-drop script.

    CSRF protection stays on: the script sends the token in ``X-CSRFToken``.
    Every id must belong to the requester, otherwise nothing is changed.
    """

    http_method_names = ["post"]
    model = None

    def owned(self, ids):
        raise NotImplementedError

    def course_id_of(self, obj):
        raise NotImplementedError

    def post(self, request):
        try:
            order = parse_order(request.body)
        except BadOrder as error:
            return JsonResponse({"error": str(error)}, status=400)
        objects = list(self.owned(order))
        if len(objects) != len(order):
            return JsonResponse({"error": "Some ids are unknown or not yours."}, status=400)
        for obj in objects:
            obj.order = order[obj.pk]
        with transaction.atomic():
            self.model.objects.bulk_update(objects, ["order"])
        # bulk_update sends no signals: forget the cached pages here.
        for course_id in {self.course_id_of(obj) for obj in objects}:
            invalidate_course(course_id)
        return JsonResponse({"saved": len(objects)})


class ModuleOrderView(OrderView):
    permission_required = "courses.change_module"
    model = Module

    def owned(self, ids):
        return Module.objects.filter(pk__in=ids, course__owner=self.request.user)

    def course_id_of(self, obj):
        return obj.course_id


class ContentOrderView(OrderView):
    permission_required = "courses.change_content"
    model = Content

    def owned(self, ids):
        return Content.objects.filter(pk__in=ids, module__course__owner=self.request.user).select_related(
            "module"
        )

    def course_id_of(self, obj):
        return obj.module.course_id
