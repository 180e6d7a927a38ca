"""A default written in several places has the same value in all of them.

A default has to be written where the code that applies it reads it: the
settings modules, the ``${VAR:-default}`` in the compose files, uWSGI's
``if-not-env`` blocks, the shell entrypoints, the Dockerfiles' ``ARG`` lines,
and .env.example, which documents every variable. These tests read each of
those places as text and fail, naming the variable and every place with its
value, when two places disagree. A variable written in one place only is fine.

How each place is read:

* .env.example: every ``NAME=value`` line with a value (copying the file to
  .env must give the defaults), and the ``Default: x`` / ``Defaults: x and y``
  notes of the comment just above, matched to the variables below it in order
  (one value for several variables applies to all of them). An empty value
  means "unset" to Compose (``:-`` treats empty and unset alike), so it says
  nothing; commented ``#NAME=value`` lines are examples, not defaults.
* Compose files and shell scripts (the NGINX entrypoint scripts and the
  application image's entrypoint): every ``${NAME:-default}`` and
  ``${NAME-default}`` outside comments, read as text because Compose
  interpolates text, before YAML. In the shell scripts an empty default
  (``${NAME:-}``) only keeps ``set -u`` quiet and is skipped; their header
  comments' "NAME ... (default x)" lines count as well.
* uwsgi.ini: the option inside each ``if-not-env = UWSGI_X`` block (which
  must be the option UWSGI_X names), and the "(value)" after each variable in
  the comment at the top.
* Dockerfiles: ``ARG NAME=value``.
* Settings modules: their source, parsed with the ``ast`` module, not
  imported. Importing would run them against whatever the environment holds
  (decouple also reads a .env it finds above the settings directory, and
  ``secret()`` reads /run/secrets), prod stops without its required
  variables, and the module objects this process already holds would have to
  be reloaded; the result would be cast values without the variable names.
  The source gives every ``config("NAME", default=..., cast=...)`` call,
  including branches not taken; a guard test below fails if a call names its
  variable in a way this reader cannot see.

Values are compared as the settings' cast reads them: 2, "2" and 2.0 agree
for a float, True and "True" for a bool. Derived defaults are compared in
their written form: a reference to
SITE_DOMAIN (``${SITE_DOMAIN}`` in compose, ``SITE_DOMAIN`` in an .env.example
note, ``{SITE_DOMAIN}`` in a settings f-string) becomes ``{SITE_DOMAIN}``, so
ALLOWED_HOSTS is ``.{SITE_DOMAIN}`` and DEFAULT_FROM_EMAIL
``educa <noreply@{SITE_DOMAIN}>`` everywhere. A settings default computed in
code (CSRF_TRUSTED_ORIGINS from ALLOWED_HOSTS, paths under BASE_DIR) cannot
be compared and is listed in COMPUTED_IN_SETTINGS.

The development setup changes a few values on purpose; DELIBERATE lists them,
and they are left out of the comparison. (docker-compose.override.yml also
sets NGINX_HSTS_MAX_AGE and EMAIL_BACKEND to fixed values, not defaults, so
they are not read at all.)
"""

import ast
import re
from collections import defaultdict
from typing import NamedTuple

import pytest

from tests.support.system import REPO

pytestmark = pytest.mark.unit


ENV_EXAMPLE = ".env.example"
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.tls.yml", "docker-compose.override.yml")
NGINX_SETTINGS = "config/nginx/docker-entrypoint.d/10-educa-settings.envsh"
SHELL_SCRIPTS = (
    NGINX_SETTINGS,
    "config/nginx/docker-entrypoint.d/40-educa-certificate.sh",
    "config/nginx/docker-entrypoint.d/50-educa-certificate-watch.sh",
    "config/acme/educa-acme",
    "config/app/entrypoint.sh",
)
UWSGI_INI = "config/uwsgi/uwsgi.ini"
DOCKERFILES = ("Dockerfile", "config/nginx/Dockerfile", "config/acme/Dockerfile")
SETTINGS_DIR = "educa/educa/settings"
# env.py holds the readers themselves (config(name, ...) with a variable name)
SETTINGS_MODULES = tuple(
    f"{SETTINGS_DIR}/{path.name}"
    for path in sorted((REPO / SETTINGS_DIR).glob("*.py"))
    if path.name not in ("__init__.py", "env.py")
)

# Values that differ from production on purpose, by file.
DELIBERATE = {
    # development: fewer workers, and time to sit in a debugger
    "docker-compose.override.yml": {"UWSGI_WORKERS", "UWSGI_HARAKIRI"},
    # runserver on a bare machine answers every local name, not just .localhost
    f"{SETTINGS_DIR}/local.py": {"ALLOWED_HOSTS"},
}

# Settings defaults computed in code, which no other place can repeat.
COMPUTED_IN_SETTINGS = {
    "CSRF_TRUSTED_ORIGINS": "https:// plus each ALLOWED_HOSTS entry",
    "STATIC_ROOT": "BASE_DIR/staticfiles",
    "MEDIA_ROOT": "BASE_DIR/media",
    "SQLITE_PATH": "BASE_DIR/db.sqlite3",
}

# The one variable other defaults are built from.
REFERENCED = "SITE_DOMAIN"

# Words .env.example's notes use for a value.
NOTE_WORDS = {"nobody": "", "empty": ""}

_TRUE = {"y", "yes", "t", "true", "on", "1"}
_FALSE = {"n", "no", "f", "false", "off", "0"}


class Default(NamedTuple):
    name: str
    value: object  # text as written, or a Python literal from the settings
    place: str  # "file:line"

    @property
    def file(self):
        return self.place.rsplit(":", 1)[0].removesuffix(" (comment)")


def read(rel):
    return (REPO / rel).read_text(encoding="utf-8")


# --- ${...} expansions (compose files and shell scripts) ------------------------------

_EXPANSION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?+=])?(.*)", re.DOTALL)
_VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*")


def expansions(line, dollar_escape):
    """(name, operator, rest) for each outermost ${...} in a line.

    Compose writes a literal $ as $$; in the shell $$ is the process id, which
    is followed by no brace either way.
    """
    i = 0
    while (i := line.find("$", i)) != -1:
        following = line[i + 1 : i + 2]
        if dollar_escape and following == "$":
            i += 2
            continue
        if following != "{":
            i += 1
            continue
        depth = 0
        for j in range(i + 1, len(line)):
            depth += {"{": 1, "}": -1}.get(line[j], 0)
            if depth == 0:
                break
        else:
            return  # unterminated: not an expansion
        match = _EXPANSION.fullmatch(line[i + 2 : j])
        if match:
            yield match.groups()
        i = j + 1


def with_references(text):
    """${NAME} inside a default becomes {NAME}, the form every place is compared in."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", r"{\1}", text)


def expansion_defaults(text, label, dollar_escape, skip_empty):
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for name, operator, rest in expansions(line, dollar_escape):
            if not _VARIABLE.fullmatch(name) or operator not in (":-", "-"):
                continue
            if skip_empty and rest == "":
                continue
            found.append(Default(name, with_references(rest), f"{label}:{lineno}"))
    return found


def compose_defaults(text, label):
    return expansion_defaults(text, label, dollar_escape=True, skip_empty=False)


def compose_variables(text):
    """Every variable a compose file interpolates, with or without a default."""
    return {
        name
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        for name, _, _ in expansions(line, dollar_escape=True)
        if _VARIABLE.fullmatch(name)
    }


_SHELL_NOTE = re.compile(r"#\s+([A-Z][A-Z0-9_]*)\s.*\(default ([^\s();]+)[);]")


def shell_defaults(text, label):
    found = expansion_defaults(text, label, dollar_escape=False, skip_empty=True)
    # the header comments: "#   NAME   what it is (default 443)"
    for lineno, line in enumerate(text.splitlines(), 1):
        match = _SHELL_NOTE.match(line)
        if match:
            found.append(Default(match[1], match[2], f"{label} (comment):{lineno}"))
    return found


# --- .env.example ---------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"(#?)([A-Z][A-Z0-9_]*)=(.*)")
_NOTE = re.compile(r"(?:^|(?<=[\s.]))Defaults?: (.+?)(?= \(|;|\.\s|\.$|$)")


def note_values(note):
    """The values of a "Defaults: a, b and c" note, or None for prose."""
    items = re.split(r",\s*|\s+and\s+", note.strip())
    if any(not item or " " in item for item in items):
        return None
    return [NOTE_WORDS.get(item, item.replace(REFERENCED, "{" + REFERENCED + "}")) for item in items]


def env_example(text, label=ENV_EXAMPLE):
    """(defaults, every variable the file lists, problems with its notes)."""
    found, listed, problems = [], set(), []
    notes, block = [], []  # the comment lines above a run of assignments, and the run

    def close():
        for lineno, line in notes:
            for match in _NOTE.finditer(line):
                values = note_values(match[1])
                if values is None:
                    continue
                if not block or len(values) not in (1, len(block)):
                    problems.append(
                        f"{label}:{lineno}: the note {match[0]!r} does not match the "
                        f"variables below it ({', '.join(block) or 'none'})"
                    )
                    continue
                if len(values) == 1:
                    values = values * len(block)
                for name, value in zip(block, values, strict=True):
                    found.append(Default(name, value, f"{label} (comment):{lineno}"))
        notes.clear()
        block.clear()

    for lineno, line in enumerate(text.splitlines(), 1):
        assignment = _ASSIGNMENT.fullmatch(line)
        if assignment:
            commented, name, value = assignment.groups()
            # Compose reads a double-quoted value without its quotes
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            listed.add(name)
            block.append(name)
            if not commented and value:
                found.append(Default(name, value, f"{label}:{lineno}"))
        elif line.startswith("#"):
            if block:
                close()
            notes.append((lineno, line))
        else:
            close()
    close()
    return found, listed, problems


# --- uwsgi.ini ------------------------------------------------------------------------


def uwsgi_defaults(text, label=UWSGI_INI):
    """(defaults, problems): if-not-env blocks and the header comment."""
    found, problems = [], []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.fullmatch(r"if-not-env\s*=\s*(UWSGI_[A-Z_]+)", line.strip())
        if not match:
            continue
        variable = match[1]
        body = []
        for lineno, inner in enumerate(lines[index + 1 :], index + 2):
            if inner.strip().startswith("endif"):
                break
            if inner.strip() and not inner.strip().startswith((";", "#")):
                body.append((lineno, inner))
        option = variable.removeprefix("UWSGI_").lower().replace("_", "-")
        options = [(lineno, *(part.strip() for part in inner.split("=", 1))) for lineno, inner in body]
        if len(options) != 1 or options[0][1] != option:
            problems.append(f"{label}: the block for {variable} must set {option} and nothing else: {body}")
            continue
        lineno, _, value = options[0]
        found.append(Default(variable, value, f"{label}:{lineno}"))

    # ";   UWSGI_HARAKIRI  seconds before ... (30)", possibly over several lines
    header = []
    for lineno, line in enumerate(lines, 1):
        if not line.startswith(";"):
            break
        header.append((lineno, line.lstrip(";")))
    starts = [(lineno, m) for lineno, line in header for m in re.finditer(r"\bUWSGI_[A-Z][A-Z_]+\b", line)]
    for position, (lineno, start) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines) + 1
        span = " ".join(line for n, line in header if lineno <= n < end)
        value = re.search(re.escape(start[0]) + r"\b[^()]*\(([^()\s]+)\)", span)
        if value:
            found.append(Default(start[0], value[1], f"{label} (comment):{lineno}"))
    return found, problems


# --- Dockerfiles -------------------------------------------------------------------------


def dockerfile_defaults(text, label):
    return [
        Default(m[1], m[2].strip("\"'"), f"{label}:{lineno}")
        for lineno, line in enumerate(text.splitlines(), 1)
        if (m := re.match(r"\s*ARG\s+([A-Z][A-Z0-9_]*)=(\S+)", line))
    ]


# --- Settings modules ------------------------------------------------------------------

READERS = {"config", "secret", "required"}


class SettingsCall(NamedTuple):
    name: str | None  # None: not a string literal
    default: object  # _NONE (no default, or None), a literal, a rendered f-string, or _COMPUTED
    cast: str  # "str", "int", "float" or "bool"
    place: str


_NONE = object()
_COMPUTED = object()


def settings_calls(text, label):
    tree = ast.parse(text)
    # NAME = config("VAR", ...) at module level: f-strings refer to VAR through NAME
    variable_of = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in READERS
            and node.value.args
            and isinstance(node.value.args[0], ast.Constant)
        ):
            variable_of[node.targets[0].id] = node.value.args[0].value

    def render(node):
        if node is None:
            return _NONE
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    parts.append(part.value)
                elif (
                    isinstance(part, ast.FormattedValue)
                    and isinstance(part.value, ast.Name)
                    and part.value.id in variable_of
                    and part.conversion == -1
                    and part.format_spec is None
                ):
                    parts.append("{" + variable_of[part.value.id] + "}")
                else:
                    return _COMPUTED
            return "".join(parts)
        try:
            value = ast.literal_eval(node)
        except ValueError:
            return _COMPUTED
        return _NONE if value is None else value

    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in READERS):
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        first = node.args[0] if node.args else keywords.get("option") or keywords.get("name")
        name = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        default = keywords.get("default", node.args[1] if len(node.args) > 1 else None)
        cast = keywords.get("cast", node.args[2] if len(node.args) > 2 else None)
        if node.func.id == "required":
            default = None
        cast_name = cast.id if isinstance(cast, ast.Name) and cast.id in ("int", "float", "bool") else "str"
        calls.append(SettingsCall(name, render(default), cast_name, f"{label}:{node.lineno}"))
    return calls


def all_settings_calls():
    return [call for rel in SETTINGS_MODULES for call in settings_calls(read(rel), rel)]


def settings_defaults(calls):
    return [
        Default(call.name, call.default, call.place)
        for call in calls
        if call.name and call.default is not _NONE and call.default is not _COMPUTED
    ]


# --- Comparing ---------------------------------------------------------------------------


def collect(texts=None):
    """Every default in every place, and the problems met while reading them.

    ``texts`` maps a file to replacement text, so a test can try an edit.
    """
    texts = texts or {}

    def text(rel):
        return texts[rel] if rel in texts else read(rel)

    found, problems = [], []
    env_found, _, env_problems = env_example(text(ENV_EXAMPLE))
    found += env_found
    problems += env_problems
    for rel in COMPOSE_FILES:
        found += compose_defaults(text(rel), rel)
    for rel in SHELL_SCRIPTS:
        found += shell_defaults(text(rel), rel)
    uwsgi_found, uwsgi_problems = uwsgi_defaults(text(UWSGI_INI))
    found += uwsgi_found
    problems += uwsgi_problems
    for rel in DOCKERFILES:
        found += dockerfile_defaults(text(rel), rel)
    calls = [call for rel in SETTINGS_MODULES for call in settings_calls(text(rel), rel)]
    found += settings_defaults(calls)
    return found, {call.name: call.cast for call in calls if call.name and call.cast != "str"}, problems


def normal(value, cast):
    """The value the settings would see, so 2, "2" and 2.0 agree for a float."""
    if isinstance(value, bool) or cast == "bool":
        text = str(value).lower()
        return True if text in _TRUE else False if text in _FALSE else value
    if cast in ("int", "float"):
        try:
            return {"int": int, "float": float}[cast](value)
        except (TypeError, ValueError):
            return value
    return value if isinstance(value, str) else str(value)


def shown(value):
    if isinstance(value, str):
        return value if value else '""'
    return repr(value)


def is_deliberate(default):
    return default.name in DELIBERATE.get(default.file, ())


def disagreements(found, casts):
    by_name = defaultdict(list)
    for default in found:
        if not is_deliberate(default):
            by_name[default.name].append(default)
    messages = []
    for name, defaults in sorted(by_name.items()):
        if len({normal(d.value, casts.get(name)) for d in defaults}) > 1:
            width = max(len(shown(d.value)) for d in defaults)
            rows = "\n".join(f"    {shown(d.value):<{width}}  {d.place}" for d in defaults)
            messages.append(f"{name} has different defaults:\n{rows}")
    return messages


# --- Tests -----------------------------------------------------------------------------


def test_every_default_has_one_value():
    found, casts, problems = collect()
    assert not problems, "\n".join(problems)
    messages = disagreements(found, casts)
    assert not messages, "\n\n".join(messages)


# (file, text in it, the same text with one value changed, that value as reported)
EDITS = [
    (NGINX_SETTINGS, "${UPLOAD_MAX_MB:-10}", "${UPLOAD_MAX_MB:-20}", "20"),
    ("docker-compose.yml", "${UWSGI_THREADS:-2}", "${UWSGI_THREADS:-3}", "3"),
    ("config/app/entrypoint.sh", "${WAIT_FOR_TIMEOUT:-60}", "${WAIT_FOR_TIMEOUT:-90}", "90"),
    (UWSGI_INI, "harakiri = 30", "harakiri = 60", "60"),
    (UWSGI_INI, "(512)", "(256)", "256"),
    (f"{SETTINGS_DIR}/prod.py", 'default="/protected-media/"', 'default="/private/"', "/private/"),
    (f"{SETTINGS_DIR}/prod.py", "default=2.0, cast=float", "default=2.5, cast=float", "2.5"),
    (
        f"{SETTINGS_DIR}/base.py",
        "noreply@{SITE_DOMAIN}",
        "noreply@{ADMIN_URL}",
        "educa <noreply@{ADMIN_URL}>",
    ),
    (ENV_EXAMPLE, "REDIS_MAXMEMORY=256mb", "REDIS_MAXMEMORY=512mb", "512mb"),
    (ENV_EXAMPLE, "Defaults: 20 and 30", "Defaults: 25 and 30", "25"),
    ("Dockerfile", "ARG PYTHON_VERSION=3.13", "ARG PYTHON_VERSION=3.12", "3.12"),
]


@pytest.mark.parametrize(("rel", "original", "changed", "value"), EDITS)
def test_a_value_changed_in_one_place_is_reported(rel, original, changed, value):
    """Each kind of place really takes part: change one value there, and exactly that is reported."""
    text = read(rel)
    assert original in text, f"{rel} no longer contains {original!r}: update EDITS"
    found, casts, problems = collect({rel: text.replace(original, changed, 1)})
    assert not problems
    (message,) = disagreements(found, casts)
    rows = message.splitlines()[1:]
    assert len(rows) >= 2
    row = re.compile(rf"\s+{re.escape(value)}\s+{re.escape(rel)}(?: \(comment\))?:\d+")
    assert any(row.fullmatch(line) for line in rows), message


def test_an_edit_is_reported_with_the_variable_each_place_and_its_value():
    text = read(NGINX_SETTINGS).replace("${UPLOAD_MAX_MB:-10}", "${UPLOAD_MAX_MB:-20}")
    found, casts, _ = collect({NGINX_SETTINGS: text})
    (message,) = disagreements(found, casts)
    assert message.startswith("UPLOAD_MAX_MB has different defaults:")
    assert re.search(r"\b20\s+config/nginx/docker-entrypoint\.d/10-educa-settings\.envsh:\d+$", message, re.M)
    assert re.search(r"\b10\s+\.env\.example:\d+$", message, re.M)
    assert re.search(r"\b10\s+docker-compose\.yml:\d+$", message, re.M)
    assert re.search(r"^\s+10\s+educa/educa/settings/base\.py:\d+$", message, re.M)


@pytest.mark.parametrize(
    ("variable", "file"),
    [
        ("UPLOAD_MAX_MB", ENV_EXAMPLE),
        ("UPLOAD_MAX_MB", "docker-compose.yml"),
        ("UPLOAD_MAX_MB", NGINX_SETTINGS),
        ("UPLOAD_MAX_MB", f"{SETTINGS_DIR}/base.py"),
        ("REDIS_TIMEOUT", f"{SETTINGS_DIR}/prod.py"),
        ("DEFAULT_FROM_EMAIL", f"{SETTINGS_DIR}/base.py"),
        ("WAIT_FOR_TIMEOUT", "config/app/entrypoint.sh"),
        ("SITE_DOMAIN", "config/nginx/docker-entrypoint.d/40-educa-certificate.sh"),
        ("UWSGI_HARAKIRI", UWSGI_INI),
        ("UWSGI_HARAKIRI", "docker-compose.override.yml"),
        ("NGINX_VERSION", "config/nginx/Dockerfile"),
    ],
)
def test_each_reader_finds_what_its_file_sets(variable, file):
    """Guards against a reader that silently finds nothing, which would always pass."""
    found, _, _ = collect()
    assert any(d.name == variable and d.file == file for d in found), (variable, file)


def test_the_settings_name_every_variable_they_read_literally():
    """A config(name_variable, ...) call would be invisible to the comparison."""
    unreadable = [call.place for call in all_settings_calls() if call.name is None]
    assert not unreadable, f"config()/secret()/required() without a literal variable name: {unreadable}"


def test_computed_settings_defaults_are_the_listed_ones():
    computed = {call.name for call in all_settings_calls() if call.default is _COMPUTED}
    assert computed == set(COMPUTED_IN_SETTINGS), (
        "a settings default that is not a literal cannot be compared with the other places: "
        "make it one, or add it to COMPUTED_IN_SETTINGS"
    )


def test_deliberate_overrides_exist_and_differ():
    """Each listed development value is still there, and still differs (else it is a copy)."""
    found, casts, _ = collect()
    for file, names in DELIBERATE.items():
        for name in names:
            own = [d for d in found if d.file == file and d.name == name]
            others = [d for d in found if d.name == name and not is_deliberate(d)]
            assert own, f"{file} no longer sets a default for {name}: remove it from DELIBERATE"
            assert others, f"{name} has no production default to differ from"
            production = normal(others[0].value, casts.get(name))
            assert all(normal(d.value, casts.get(name)) != production for d in own), (
                f"{file} sets {name} to the production default: drop it there, or from DELIBERATE"
            )


def test_env_example_lists_every_variable_of_the_stack():
    """.env.example is where the variables are explained: none may be missing from it."""
    _, listed, _ = env_example(read(ENV_EXAMPLE))
    stack = set().union(*(compose_variables(read(rel)) for rel in COMPOSE_FILES))
    uwsgi, _ = uwsgi_defaults(read(UWSGI_INI))
    stack |= {d.name for d in uwsgi}
    missing = sorted(stack - listed)
    assert not missing, f".env.example does not list {missing}"


def test_the_env_example_reader_understands_the_notes():
    text = (
        "# Two values. Defaults: 4 and 2\n"
        "A=4\n"
        "B=2\n"
        "# One for both. Default: 65536\n"
        "C=65536\n"
        "#D=\n"
        "# Prose is skipped. Defaults: SMTP to localhost:25, sender x.\n"
        "E=x\n"
        "# Derived. Default: .SITE_DOMAIN\n"
        "F=\n"
        "# Wrong count. Defaults: 1, 2 and 3\n"
        "G=1\n"
    )
    found, listed, problems = env_example(text, "example")
    assert listed == set("ABCDEFG")
    values = {(d.name, d.value, d.place) for d in found}
    assert ("A", "4", "example (comment):1") in values and ("B", "2", "example (comment):1") in values
    assert ("C", "65536", "example:5") in values and ("D", "65536", "example (comment):4") in values
    assert not [d for d in found if d.name == "E" and "comment" in d.place]
    assert ("F", ".{SITE_DOMAIN}", "example (comment):9") in values
    assert not [d for d in found if d.name == "F" and "comment" not in d.place]
    assert len(problems) == 1 and problems[0].startswith("example:11: ")


def test_the_expansion_reader_handles_nesting_and_escapes():
    line = 'a: ${A:-.${SITE_DOMAIN}} $${B:-no} ${C:?required} ${D-x} ${E} "${F:-}"'
    assert [(d.name, d.value) for d in compose_defaults(line, "f")] == [
        ("A", ".{SITE_DOMAIN}"),
        ("D", "x"),
        ("F", ""),
    ]
    assert [(d.name, d.value) for d in shell_defaults('x=${A:-1} y="${B:-}" ${c:-2}', "s")] == [("A", "1")]
