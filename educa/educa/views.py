from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.templatetags.static import static


def favicon(request):
    # Browsers ask for /favicon.ico whatever the page says; point them at the
    # hashed static file so it gets the long cache headers.
    return redirect(static("favicon.svg"))


@login_required
def after_login(request):
    """Where signing in leads when no ``next`` page was asked for.

    Instructors come to teach: their CMS (the same permission that opens its
    course list). Everyone else lands on the courses they follow.
    """
    if request.user.has_perm("courses.view_course"):
        return redirect("manage_course_list")
    return redirect("student_course_list")
