"""Two students chat live in the course room; the chat survives a Daphne restart."""

import secrets

import pytest

from tests.support.browser import (
    disrupts_shared_stack,
    enrol,
    expect,
    open_chat,
    register,
    say,
    screenshot,
)
from tests.support.system import wait_until

pytestmark = pytest.mark.browser

# Chromium's own report of a refused WebSocket handshake while Daphne is down.
REFUSED_SOCKET = r"WebSocket connection to 'wss://[^']+/ws/chat/room/\d+/(\?after=\d+)?' failed"
# The status line's texts over time, recorded by the page itself.
RECORD_STATUS = """() => {
  const status = document.getElementById("chat-status");
  window.statusHistory = [status.textContent];
  new MutationObserver(() => window.statusHistory.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""


def message(page, text):
    """The message in the log whose text is exactly ``text`` (waits for it to arrive)."""
    found = page.locator("#chat-messages .message").filter(
        has=page.locator(".text").get_by_text(text, exact=True)
    )
    expect(found).to_have_count(1)
    return found


def daphne_health(stack):
    return next(
        (container.get("Health") for container in stack.containers() if container["Service"] == "daphne"),
        None,
    )


@disrupts_shared_stack
def test_students_chat_live_safely_and_reconnect_after_daphne_restarts(stack, browsing, built_course):
    ana, ben = browsing.new_page(), browsing.new_page()
    names = {}
    for page, name in ((ana, "ana"), (ben, "ben")):
        names[page] = f"{name}-{secrets.token_hex(3)}"
        register(page, names[page], secrets.token_urlsafe(12))
        enrol(page, built_course)
        open_chat(page, built_course)

    greeting = "Hi Ben! Did you watch the welcome video?"
    say(ana, greeting)
    assert message(ben, greeting).locator(".sender").inner_text() == names[ana]
    assert "me" in message(ana, greeting).get_attribute("class")

    # Markup typed into the chat is shown as the characters typed, never run.
    payload = "<img src=x onerror=alert(1)> <b>bold</b>"
    say(ben, payload)
    for page in (ana, ben):
        shown = message(page, payload)
        assert shown.locator(".text").inner_text() == payload
        assert shown.locator("img, b").count() == 0
        assert page.locator("#chat-messages img, #chat-messages b").count() == 0
    screenshot(ana, "40-chat-ana-sees-markup-as-text")
    screenshot(ben, "41-chat-ben")

    for page in (ana, ben):
        page.evaluate(RECORD_STATUS)
    try:
        with browsing.expecting(REFUSED_SOCKET):
            stack.compose("restart", "daphne")
            for page in (ana, ben):
                expect(page.locator("#chat-status")).to_have_text("connected", timeout=90_000)
    finally:
        # The stack is shared: leave it as healthy as it was found.
        wait_until(lambda: daphne_health(stack) == "healthy", 120, "daphne to be healthy again")
        stack.wait_ready()
    for page in (ana, ben):
        history = page.evaluate("window.statusHistory")
        assert any(text.startswith("reconnecting") for text in history), history
        assert history[-1] == "connected"

    after = "Daphne is back; can you still read me?"
    say(ben, after)
    message(ana, after)
    reply = "Loud and clear."
    say(ana, reply)
    message(ben, reply)
    screenshot(ana, "42-chat-after-daphne-restart")
    browsing.assert_clean()
