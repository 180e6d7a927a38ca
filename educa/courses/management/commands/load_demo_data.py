"""Fill an empty site with something to look at: subjects, an instructor, courses.

Safe to run on every deploy: subjects and courses are found by slug, modules
by title, and a module that already has contents is left alone, so a second
run creates nothing.
"""

import secrets

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from courses.instructors import ensure_instructor, ensure_subject, instructors_group
from courses.models import Content, Course, Module, Text, Video

SUBJECTS = {
    "mathematics": "Mathematics",
    "programming": "Programming",
    "physics": "Physics",
    "music": "Music",
}

# slug -> (subject slug, title, overview, [(module title, description, [contents])]).
# A content is ("text", title, body) or ("video", title, url).
COURSES = {
    "python-from-scratch": (
        "programming",
        "Python from scratch",
        "Write your first programs in Python: values, control flow, functions and a small project.",
        [
            (
                "Getting started",
                "Install Python and run your first script.",
                [
                    ("text", "Why Python", "Python reads almost like English.\nIt runs everywhere."),
                    ("video", "Python in 100 seconds", "https://www.youtube.com/watch?v=x7X9w_GIm1s"),
                ],
            ),
            (
                "Functions",
                "Name a piece of work and reuse it.",
                [("text", "Defining functions", 'def greet(name):\n    return f"Hello, {name}"')],
            ),
        ],
    ),
    "linear-algebra-essentials": (
        "mathematics",
        "Linear algebra essentials",
        "Vectors, matrices and the geometry behind them, with plenty of pictures.",
        [
            (
                "Vectors",
                "Arrows, lists of numbers and what adding them means.",
                [
                    ("text", "What is a vector?", "A vector has a length and a direction."),
                    ("video", "Vectors, what even are they?", "https://www.youtube.com/watch?v=fNk_zzaMoSs"),
                ],
            ),
            (
                "Matrices",
                "Linear transformations written down.",
                [("text", "Matrices as transformations", "Each column says where a basis vector lands.")],
            ),
        ],
    ),
    "mechanics-101": (
        "physics",
        "Mechanics 101",
        "Motion, forces and energy: the classical mechanics every physicist starts with.",
        [
            (
                "Kinematics",
                "Position, velocity and acceleration.",
                [("text", "Describing motion", "Velocity is the rate of change of position.")],
            ),
            (
                "Newton's laws",
                "Why things move the way they do.",
                [("text", "The three laws", "1. Inertia.\n2. F = m·a.\n3. Action and reaction.")],
            ),
        ],
    ),
    "music-theory-basics": (
        "music",
        "Music theory basics",
        "Read notes, build scales and chords, and understand what you play.",
        [
            (
                "Notes and scales",
                "The alphabet of music.",
                [
                    ("text", "The major scale", "Whole, whole, half, whole, whole, whole, half."),
                    ("video", "A sample video on Vimeo", "https://vimeo.com/76979871"),
                ],
            ),
        ],
    ),
}

ITEM_MODELS = {"text": (Text, "content"), "video": (Video, "url")}


class Command(BaseCommand):
    help = "Create demo subjects, an instructor and courses with modules and contents (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="instructor", help="The instructor's username.")
        parser.add_argument(
            "--password",
            help="The instructor's password. Without it a new instructor gets a random one, "
            "printed once; an existing instructor keeps theirs.",
        )

    def handle(self, *args, username, password, **options):
        try:
            instructors_group()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error

        with transaction.atomic():
            instructor = self.ensure_instructor(username, password)
            subjects = {slug: ensure_subject(slug, title) for slug, title in SUBJECTS.items()}
            created_courses = 0
            for slug, (subject_slug, title, overview, modules) in COURSES.items():
                course, created = Course.objects.get_or_create(
                    slug=slug,
                    defaults={
                        "owner": instructor,
                        "subject": subjects[subject_slug],
                        "title": title,
                        "overview": overview,
                    },
                )
                created_courses += created
                for module_title, description, contents in modules:
                    self.ensure_module(course, module_title, description, contents)

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(SUBJECTS)} subjects, {len(COURSES)} courses "
                f"({created_courses} new), instructor “{instructor.username}”."
            )
        )

    def ensure_instructor(self, username, password):
        instructor, created = ensure_instructor(username, password)
        if created and not password:
            password = secrets.token_urlsafe(12)
            instructor.set_password(password)
            instructor.save(update_fields=["password"])
            self.stdout.write(f"Instructor “{username}” created with password: {password}")
        return instructor

    def ensure_module(self, course, title, description, contents):
        module, _ = Module.objects.get_or_create(
            course=course, title=title, defaults={"description": description}
        )
        if module.contents.exists():
            return
        for kind, item_title, value in contents:
            model, field = ITEM_MODELS[kind]
            item = model.objects.create(owner=course.owner, title=item_title, **{field: value})
            Content.objects.create(module=module, item=item)
