"""Fixtures shared by every test layer, and the order the layers run in."""

import os

import pytest

from tests.support.prerequisites import integration_problem

pytest_plugins = ["tests.support.plugin"]

LAYERS = ("unit", "integration", "stack", "browser")


# the test files whose tests use the shared stack (educa_stack), for pytest_runtest_setup
_FILES_USING_THE_SHARED_STACK = pytest.StashKey[set]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run the layers in order: unit, integration, stack, browser.

    pytest-django sorts tests by their use of the database, which would mix
    the layers; the cheap layers should fail first, and the browser layer
    (whose Playwright session owns an event loop) must come after every
    asyncio test. Within the browser layer, tests that restart part of the
    shared stack go last. The swarm tests go after everything: a Docker
    Engine that leaves a swarm stops resolving names on the bridge networks
    that exist at that moment (moby/moby#45144), the shared stack's among
    them. Every test must belong to exactly one layer, so that ``-m <layer>``
    never leaves one out.

    bin/test runs two processes (pytest-xdist), each handed whole modules in
    this order (``--dist loadfile --no-loadscope-reorder``), so each process
    keeps it; the swarm test waits until the other process has taken its
    stacks down (tests/support/swarm.py).
    """
    unassigned = [item.nodeid for item in items if _layer(item) is None]
    if unassigned:
        raise pytest.UsageError(f"tests without a layer marker ({', '.join(LAYERS)}): {unassigned}")

    def rank(item):
        layer = LAYERS.index(_layer(item))
        disrupts = getattr(getattr(item, "function", None), "disrupts_shared_stack", False)
        return (item.get_closest_marker("swarm") is not None, layer, disrupts)

    items.sort(key=rank)
    config.stash[_FILES_USING_THE_SHARED_STACK] = {
        item.path for item in items if "educa_stack" in item.fixturenames
    }
    # the layer travels with each report, to the process that sums the times
    # (with pytest-xdist the tests run in workers, the summary in the controller)
    for item in items:
        item.user_properties.append(("layer", _layer(item)))


def _layer(item):
    return next((name for name in LAYERS if item.get_closest_marker(name)), None)


_layer_seconds = {}


def pytest_runtest_logreport(report):
    """Add each test's setup, call and teardown to its layer, so a stack's boot counts in its layer."""
    layer = dict(report.user_properties).get("layer")
    if layer:
        _layer_seconds[layer] = _layer_seconds.get(layer, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if not _layer_seconds:
        return
    terminalreporter.section("time per layer (summed over the test processes)")
    for layer in LAYERS:
        if layer in _layer_seconds:
            seconds = _layer_seconds[layer]
            terminalreporter.write_line(f"{layer:<12} {seconds // 60:3.0f} min {seconds % 60:4.1f} s")


# --- Courses, enrolment and chat -------------------------------------------

TEST_PASSWORD = "pw"


@pytest.fixture
def make_user(django_user_model):
    """Create a user; ``make_user("ana")`` gets the e-mail ana@example.com and TEST_PASSWORD."""

    def make(username, email=None, password=TEST_PASSWORD, **fields):
        if email is None:
            email = f"{username}@example.com"
        return django_user_model.objects.create_user(username, email=email, password=password, **fields)

    return make


@pytest.fixture
def make_course(make_user):
    """Create a course owned by ``owner`` (a new instructor by default).

    ``modules`` is a list of module titles; each module gets one Text content
    reading "<module title> text".
    """
    from courses.models import Content, Course, Module, Subject, Text

    def make(title="Python basics", owner=None, modules=(), students=()):
        from django.utils.text import slugify

        owner = owner or make_user(f"teacher-{slugify(title)}")
        subject, _ = Subject.objects.get_or_create(slug="programming", defaults={"title": "Programming"})
        course = Course.objects.create(
            owner=owner, subject=subject, title=title, slug=slugify(title), overview=f"About {title}."
        )
        for module_title in modules:
            module = Module.objects.create(course=course, title=module_title)
            text = Text.objects.create(
                owner=owner, title=f"{module_title} notes", content=f"{module_title} text"
            )
            Content.objects.create(module=module, item=text)
        course.students.add(*students)
        return course

    return make


# --- Instructor CMS, uploads and the cache ---------------------------------


@pytest.fixture(autouse=True)
def _empty_cache_for_unit_tests(request):
    """Unit tests start with an empty local-memory cache.

    Each test's rows are rolled back and their ids reused by the next test, so
    a page cached by one test must not be served to another.
    """
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    from django.core.cache import cache

    from courses.cache import _breaker

    cache.clear()
    _breaker.reset()
    yield
    cache.clear()
    _breaker.reset()


@pytest.fixture
def instructor(db):
    """A user in the "Instructors" group.

    The group comes from the courses data migration; a transactional test
    before this one may have flushed it, so the same code makes sure it exists.
    """
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from courses.instructors import ensure_instructor

    migration = import_module("courses.migrations.0002_instructors_group")
    migration.create_instructors_group(apps, SimpleNamespace(connection=connection))
    return ensure_instructor("instructor", TEST_PASSWORD, email="instructor@example.com")[0]


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploads go to a temporary MEDIA_ROOT, removed after the test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- Integration layer: what it needs before anything starts ----------------


@pytest.fixture(scope="session")
def integration_prerequisites():
    """Fail (never skip) the integration layer when Docker or its images are missing."""
    problem = integration_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    # testcontainers' reaper image cannot be pulled without a registry; the
    # integration fixtures remove their containers themselves.
    from testcontainers.core.config import testcontainers_config

    if "TESTCONTAINERS_RYUK_DISABLED" not in os.environ:
        testcontainers_config.ryuk_disabled = True


@pytest.fixture(autouse=True)
def _integration_prerequisites_for_marked_tests(request):
    if request.node.get_closest_marker("integration") is not None:
        request.getfixturevalue("integration_prerequisites")


# --- Stack and browser layers: one production stack for the session ---------


@pytest.fixture(scope="session")
def stack(educa_stack):
    """The production stack of tests.support.plugin, booted on first use."""
    return educa_stack


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Freeze the shared stack (Stack.pause) while a module none of whose tests use it runs.

    Most stack modules boot stacks of their own, and with two test processes
    up to four stacks ran at once; the idle ones' healthchecks alone kept
    both cores busy. This runs before any fixture of the test is set up, so
    the stack is frozen before a module's own stack boots, and thawed before
    a fixture of any scope uses it.
    """
    from tests.support.plugin import booted

    shared = booted.get("educa_stack")
    if shared is None:
        return
    if item.path in item.config.stash[_FILES_USING_THE_SHARED_STACK]:
        shared.resume()
    else:
        shared.pause()
