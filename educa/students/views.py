from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, DetailView, ListView

from courses.catalogue import course_modules, module_contents
from courses.models import Course

from .forms import CourseEnrollForm, StudentRegistrationForm


class StudentRegistrationView(CreateView):
    """Create an account and sign the new student straight in."""

    template_name = "students/registration.html"
    form_class = StudentRegistrationForm
    success_url = reverse_lazy("student_course_list")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(self.success_url)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        login(self.request, self.object, backend="django.contrib.auth.backends.ModelBackend")
        return response


@require_POST
def enroll_in_course(request):
    """Enrol the current user in the course posted as ``course_id``.

    A malformed id is a 400 and an unknown course a 404. Anonymous visitors are
    sent to sign in and then back to the course page (not here: this URL only
    answers POST).
    """
    form = CourseEnrollForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("course_id must be a positive integer.")
    course = get_object_or_404(Course, pk=form.cleaned_data["course_id"])
    if not request.user.is_authenticated:
        return redirect_to_login(course.get_absolute_url())
    course.students.add(request.user)
    return redirect("student_course_detail", pk=course.pk)


class StudentCourseListView(LoginRequiredMixin, ListView):
    """The courses the current user is enrolled in."""

    template_name = "students/course/list.html"
    context_object_name = "courses"

    def get_queryset(self):
        return (
            self.request.user.courses_joined.select_related("subject", "owner")
            .annotate(module_count=Count("modules"))
            .order_by("title")
        )


class StudentCourseDetailView(LoginRequiredMixin, DetailView):
    """The course player: one module's contents at a time, with the module list beside them.

    Only enrolled students see it; for anyone else the course does not exist
    (404). The first module is shown unless another one of this course is
    named in the URL.
    """

    template_name = "students/course/detail.html"
    context_object_name = "course"

    def get_queryset(self):
        return self.request.user.courses_joined.select_related("subject", "owner")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        course = self.object
        # The outline comes from the cache the public course page fills.
        modules = course_modules(course)
        if not modules:
            raise Http404("This course has no modules yet.")
        module = self._selected_module(modules)
        position = modules.index(module)
        # The rendered items come from the cache shared with the API, keyed by
        # course and module; the course's version changes whenever an
        # instructor edits it, so no stale or foreign HTML is served.
        contents = module_contents(module)
        context.update(
            modules=modules,
            module=module,
            module_number=position + 1,
            previous_module=modules[position - 1] if position > 0 else None,
            next_module=modules[position + 1] if position + 1 < len(modules) else None,
            contents=contents,
            chat_url=reverse("chat:course_chat_room", args=[course.id]),
        )
        return context

    def _selected_module(self, modules):
        module_id = self.kwargs.get("module_id")
        if module_id is None:
            return modules[0]
        for module in modules:
            if module.id == module_id:
                return module
        raise Http404("No such module in this course.")
