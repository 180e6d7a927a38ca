"""Who may see what of a course."""


def is_enrolled(user, course):
    return user.is_authenticated and course.students.filter(pk=user.pk).exists()


def can_view_course_contents(user, course):
    """True for the course's owner, its enrolled students and staff.

    These are the people allowed to read a course's modules and download its
    files; the public catalogue only shows the overview.
    """
    if not user.is_authenticated:
        return False
    return user.is_staff or course.owner_id == user.pk or is_enrolled(user, course)
