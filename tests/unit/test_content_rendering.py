"""How contents read in the player: Markdown text, video with a way out, the landing after sign-in."""

import pytest

from courses.markdown import render_markdown
from courses.models import Content, Text, Video

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

CODE_SNIPPET = """Run this:

    def greet(name):
        if name:
            return f"Hello {name}"

Or fenced:

```python
for line in lines:
    print(line)
```
"""


def test_indented_and_fenced_code_keep_their_indentation_in_a_code_block():
    html = render_markdown(CODE_SNIPPET)

    assert (
        "<pre><code>def greet(name):\n    if name:\n        return f&quot;Hello {name}&quot;\n</code></pre>"
        in html
    )
    assert '<pre><code class="language-python">for line in lines:\n    print(line)\n</code></pre>' in html


def test_line_breaks_typed_by_the_instructor_are_kept():
    assert render_markdown("first line\nsecond line") == "<p>first line<br />\nsecond line</p>\n"


def test_raw_html_is_shown_as_text_never_run():
    html = render_markdown('<script>alert(1)</script> <img src=x onerror="alert(2)"> <b>bold</b>')

    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:msgbox(1)", "data:text/html,<b>x</b>"]
)
def test_links_to_scripts_are_not_links(target):
    html = render_markdown(f"[click me]({target})")

    assert "<a" not in html


def test_ordinary_markdown_renders():
    html = render_markdown("# Title\n\n* **bold** and `code`\n* [docs](https://docs.djangoproject.com/)")

    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://docs.djangoproject.com/">docs</a>' in html


def test_the_player_shows_a_text_content_as_markdown(client, make_course, make_user):
    student = make_user("ana")
    course = make_course("Django deep dive", modules=["Models"], students=[student])
    Text.objects.filter(title="Models notes").update(content=CODE_SNIPPET + "\n<em>typed html</em>")
    client.force_login(student)

    html = client.get(f"/students/course/{course.pk}/").content.decode()

    assert "<pre><code>def greet(name):\n    if name:" in html
    assert "&lt;em&gt;typed html&lt;/em&gt;" in html


def test_an_embedded_video_also_offers_a_link_to_its_page(client, make_course, make_user):
    student = make_user("ana")
    course = make_course("Django deep dive", modules=["Models"], students=[student])
    module = course.modules.get()
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    Content.objects.create(
        module=module, item=Video.objects.create(owner=course.owner, title="Intro", url=url)
    )
    client.force_login(student)

    html = client.get(f"/students/course/{course.pk}/").content.decode()

    assert 'src="https://www.youtube.com/embed/dQw4w9WgXcQ"' in html
    assert f'<a href="{url.replace("&", "&amp;")}" target="_blank" rel="noopener noreferrer">Watch' in html


def sign_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": "pw"}, follow=True)


def test_an_instructor_lands_on_the_cms_after_signing_in(client, instructor):
    response = sign_in(client, instructor.username)

    assert response.redirect_chain[-1][0] == "/course/mine/"


def test_a_student_lands_on_their_courses_after_signing_in(client, make_user):
    make_user("ana")

    response = sign_in(client, "ana")

    assert response.redirect_chain[-1][0] == "/students/courses/"


def test_a_page_asked_for_before_signing_in_wins_over_the_landing(client, instructor):
    response = client.post(
        "/accounts/login/?next=/students/courses/", {"username": instructor.username, "password": "pw"}
    )

    assert response.url == "/students/courses/"


def test_the_landing_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/accounts/home/")

    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
