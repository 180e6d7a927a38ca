"""The locks: every installed package pinned and hashed, and in step with its list.

requirements.in and requirements-dev.in are the lists a human edits;
bin/lock writes requirements.txt (the image) and requirements-dev.txt (.venv)
from them. These tests fail when a list and its lock drift apart: a package
added, removed or re-pinned by hand without bin/lock, an entry without hashes,
a dependency missing from a lock or one nothing needs any more.
"""

import importlib.metadata
import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.system import REPO

pytestmark = pytest.mark.unit

RUNTIME_LOCK = REPO / "requirements.txt"
DEV_LOCK = REPO / "requirements-dev.txt"
# every file pip installs with --require-hashes, bin/lock's and the other images'
HASHED_LOCKS = [
    RUNTIME_LOCK,
    DEV_LOCK,
    REPO / "config/acme/requirements.txt",
    REPO / "bench/gunicorn/requirements.txt",
    REPO / "tests/support/sslyze/requirements.txt",
]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")


def logical_lines(path):
    """The lines of a requirements file, continuations joined, comments and blanks left out."""
    text = re.sub(r"\\\n", " ", path.read_text())
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield line


def lock_entries(path):
    """{canonical name: (version, [hashes])} of a lock, failing on an entry that is not name==version."""
    entries = {}
    for line in logical_lines(path):
        requirement, *options = line.split()
        match = PIN.match(requirement)
        assert match, f"{path.name}: {requirement!r} is not pinned as name==version"
        hashes = [option.removeprefix("--hash=") for option in options if option.startswith("--hash=")]
        assert len(hashes) == len(options), (
            f"{path.name}: {requirement} has options other than --hash: {options}"
        )
        entries[canonicalize_name(match["name"])] = (match["version"], hashes)
    return entries


def listed(path):
    """The requirements of a list (.in), following -r; -c lines are left out."""
    for line in logical_lines(path):
        if line.startswith(("-r ", "--requirement ")):
            yield from listed(path.parent / line.split(maxsplit=1)[1])
        elif not line.startswith(("-c ", "--constraint ")):
            yield Requirement(line)


def lock_targets():
    """{lock file name: (list file name, Python version)} as bin/lock compiles them."""
    script = re.sub(r"\\\n", " ", (REPO / "bin/lock").read_text())
    targets = {}
    for command in re.findall(r"pip compile .*", script):
        python = re.search(r"--python-version (\S+)", command)[1]
        source, output = re.search(r"(\S+\.in) -o (\S+\.txt)", command).groups()
        targets[output] = (source, python)
    return targets


def environment(python):
    """The markers of CPython ``python`` on Linux x86_64, the platform both locks are for."""
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
    }


@pytest.mark.parametrize("lock", HASHED_LOCKS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_entry_of_a_lock_is_pinned_with_sha256_hashes(lock):
    entries = lock_entries(lock)
    assert entries, f"{lock} pins nothing"
    unhashed = [name for name, (_, hashes) in entries.items() if not hashes]
    assert not unhashed, f"{lock.name}: no --hash for {unhashed}"
    for name, (_, hashes) in entries.items():
        for value in hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", value), (
                f"{lock.name}: {name} has a malformed hash {value}"
            )


def test_bin_lock_writes_every_lock_from_its_list():
    targets = lock_targets()
    assert {lock: source for lock, (source, _) in targets.items()} == {
        "requirements.txt": "requirements.in",
        "requirements-dev.txt": "requirements-dev.in",
        # the TLS scanner's image: an older cryptography than the application's
        "tests/support/sslyze/requirements.txt": "tests/support/sslyze/requirements.in",
    }


def test_the_runtime_lock_is_for_the_python_of_the_image():
    dockerfile = (REPO / "Dockerfile").read_text()
    image_python = re.search(r"^ARG PYTHON_VERSION=(\S+)$", dockerfile, re.MULTILINE)[1]
    assert lock_targets()["requirements.txt"][1] == image_python, (
        "the Dockerfile's Python changed: run bin/lock"
    )


def test_the_image_installs_the_lock_with_hash_checking_and_wheels_only():
    dockerfile = (REPO / "Dockerfile").read_text()
    install = re.search(r"pip .*install .*-r /tmp/requirements\.txt", dockerfile)[0]
    assert "--require-hashes" in install, install
    assert "--only-binary=:all:" in install, install
    assert "COPY requirements.txt /tmp/requirements.txt" in dockerfile


@pytest.mark.parametrize(
    "lock", ["requirements.txt", "requirements-dev.txt", "tests/support/sslyze/requirements.txt"]
)
def test_every_package_of_the_list_is_in_the_lock_at_the_version_it_asks_for(lock):
    source, _ = lock_targets()[lock]
    entries = lock_entries(REPO / lock)
    for requirement in listed(REPO / source):
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{requirement} of {source} is not in {lock}: run bin/lock"
        version = entries[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{source} asks for {requirement}, {lock} has {version}: run bin/lock"
        )


def test_the_dev_lock_has_the_runtime_packages_of_the_image_with_the_same_files():
    runtime, dev = lock_entries(RUNTIME_LOCK), lock_entries(DEV_LOCK)
    missing = sorted(set(runtime) - set(dev))
    assert not missing, f"requirements-dev.txt lacks {missing}: run bin/lock"
    for name, (version, hashes) in runtime.items():
        assert dev[name][0] == version, (
            f"{name}: {version} in the image, {dev[name][0]} in .venv: run bin/lock"
        )
        assert set(hashes) <= set(dev[name][1]), f"{name}: the two locks know different files"


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_the_lock_holds_every_dependency_and_nothing_else(lock):
    """Walks the dependencies from the list through the packages' metadata.

    The metadata is that of the packages installed here (bin/setup installs
    requirements-dev.txt, which holds the runtime set at the same versions),
    read with the markers of the Python and platform the lock is for.
    """
    source, python = lock_targets()[lock]
    entries = lock_entries(REPO / lock)
    markers = environment(python)
    problems, reached = [], set()
    todo = [
        (canonicalize_name(requirement.name), frozenset(requirement.extras))
        for requirement in listed(REPO / source)
    ]
    seen = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        reached.add(name)
        if name not in entries:
            problems.append(f"{name} of {source} is not in {lock}")
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != entries[name][0]:
            pytest.fail(
                f"{name} {entries[name][0]} of {lock} is not the one installed here ({installed}): "
                "run bin/setup"
            )
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({**markers, "extra": extra}) for extra in ("", *extras)
            )
            if not wanted:
                continue
            dependency = canonicalize_name(requirement.name)
            if dependency not in entries:
                problems.append(f"{name} needs {requirement}, which is not in {lock}")
            elif not requirement.specifier.contains(entries[dependency][0], prereleases=True):
                problems.append(f"{name} needs {requirement}, {lock} has {entries[dependency][0]}")
            else:
                todo.append((dependency, frozenset(requirement.extras)))
    unneeded = sorted(set(entries) - reached)
    if unneeded:
        problems.append(f"nothing in {source} needs {unneeded}")
    assert not problems, f"{lock} is not the closure of {source} (run bin/lock):\n" + "\n".join(problems)
