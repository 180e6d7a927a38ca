"""Create a course with empty modules for an existing instructor, without the CMS."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from courses.instructors import INSTRUCTORS_GROUP, create_course, ensure_subject
from courses.models import Course


class Command(BaseCommand):
    help = "Create a course owned by an instructor; prints the new ids as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--owner", required=True, help="Username of the instructor who owns it.")
        parser.add_argument("--title", required=True)
        parser.add_argument("--slug", help="Address of the course (default: from the title).")
        parser.add_argument("--subject", default="programming", metavar="SLUG", help="Created if missing.")
        parser.add_argument("--overview", default="")
        parser.add_argument(
            "--module", action="append", default=[], metavar="TITLE", help="An empty module (repeatable)."
        )

    def handle(self, *args, owner, title, slug, subject, overview, module, **options):
        try:
            user = get_user_model().objects.get(username=owner)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user “{owner}”; create them with create_instructor first.") from error
        if not user.groups.filter(name=INSTRUCTORS_GROUP).exists():
            raise CommandError(f"“{owner}” is not an instructor; run create_instructor {owner} first.")
        slug = slug or slugify(title)
        if Course.objects.filter(slug=slug).exists():
            raise CommandError(f"A course with the address “{slug}” exists already.")
        course = create_course(user, title, ensure_subject(subject), slug, overview, module)
        self.stdout.write(
            json.dumps(
                {
                    "id": course.pk,
                    "slug": course.slug,
                    "subject": {"id": course.subject_id, "slug": course.subject.slug},
                    "modules": list(course.modules.values_list("pk", flat=True)),
                }
            )
        )
