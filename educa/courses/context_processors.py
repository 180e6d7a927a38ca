"""Template variables every page of the site needs."""

from .cache import get_or_compute, permissions_key


def teaching(request):
    """``can_teach``: whether the header links the instructor's pages ("Teach").

    Every page a signed-in user sees asks this. ``perms.courses.add_course``
    costs two queries per page (the user's own permissions and their
    groups'), a third of a signed-in page's queries, so the answer is cached
    per user under a version that every change of a user, a group or a
    permission made through the ORM bumps (``courses.signals``; a bump lost
    while Redis is away clears the cache when it is back, as for courses).
    The CMS views still check the permission themselves; this only decides
    a link.

    ``can_teach`` is a callable, which the template calls only where it is
    used: anonymous pages cost nothing.
    """

    def can_teach():
        user = request.user
        if not user.is_authenticated:
            return False
        return get_or_compute(
            permissions_key(user.pk, "can-teach"),
            lambda: user.has_perm("courses.add_course"),
        )

    return {"can_teach": can_teach}
