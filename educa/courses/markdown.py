"""Text contents written by instructors, rendered as Markdown.

CommonMark through markdown-it-py (a maintained parser, the one behind
MyST and Jupyter tooling) with raw HTML turned off: whatever HTML an
instructor types is shown as text, never interpreted, so no sanitiser has to
be trusted. The parser's own link check refuses ``javascript:``,
``vbscript:``, ``file:`` and ``data:`` targets.

``breaks`` keeps every line break the instructor typed, as the plain-text
rendering did; indented or fenced code keeps its indentation in a ``<pre>``.
Markdown images are off: pictures belong in Image contents, which are stored
and access-checked by the site, while a remote picture would be refused by
the Content-Security-Policy anyway.
"""

from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

_parser = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable("image")


def render_markdown(text):
    """``text`` as safe HTML."""
    # safe: raw HTML is off in the parser, whatever HTML was typed comes out as text
    return mark_safe(_parser.render(text or ""))  # noqa: S308  # nosec B308, B703
