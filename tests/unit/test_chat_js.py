"""The chat page script, run under Node against a minimal DOM and a scripted WebSocket.

No browser is needed: the harness below gives chat.js just the DOM calls it
uses (and makes ``innerHTML`` throw), fake timers and a WebSocket the test
opens, feeds and drops at will. The browser layer covers the real thing.
"""

import json
import os
import re
import shutil
import subprocess

import pytest
from django.conf import settings

pytestmark = pytest.mark.unit

NODE = shutil.which("node")

HARNESS = r"""
const fs = require("fs");
const vm = require("vm");
const [scriptPath, protocol, historyId] = process.argv.slice(2);

class Element {
  constructor(tag) {
    this.tagName = tag; this.children = []; this.parent = null; this.textContent = "";
    this.className = ""; this.dataset = {}; this.listeners = {}; this.value = "";
    this.scrollTop = 0; this.scrollHeight = 0;
  }
  set innerHTML(value) { throw new Error("innerHTML used with " + value); }
  insertAdjacentHTML() { throw new Error("insertAdjacentHTML used"); }
  appendChild(child) {
    child.parent = this; this.children.push(child); this.scrollHeight += 10; return child;
  }
  append(...nodes) {
    for (const node of nodes) { this.appendChild(typeof node === "string" ? { text: node } : node); }
  }
  remove() { this.parent.children = this.parent.children.filter((child) => child !== this); }
  querySelector(selector) {
    const wanted = selector.split(".").filter(Boolean);
    return this.children.find((child) => child.className !== undefined
      && wanted.every((name) => child.className.split(" ").includes(name))) || null;
  }
  getElementsByTagName(tag) {
    const found = [];
    for (const child of this.children) {
      if (child.tagName === tag) { found.push(child); }
      if (child.getElementsByTagName) { found.push(...child.getElementsByTagName(tag)); }
    }
    return found;
  }
  addEventListener(type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); }
  fire(type, event) { for (const listener of this.listeners[type] || []) { listener(event); } }
  focus() {}
}

const config = new Element("script");
config.textContent = JSON.stringify({
  courseId: 7, socketPath: "/ws/chat/room/7/", username: "ana", maxLength: 10, rateBurst: 3,
});
const log = new Element("div");
const placeholder = new Element("p");
placeholder.className = "notice empty";
log.appendChild(placeholder);
// One message of history as the server renders it, in the site's time zone (UTC).
const history = new Element("div");
history.className = "history";
const historyTime = new Element("time");
historyTime.dateTime = "2026-01-01T10:00:00+00:00";
historyTime.textContent = "Jan 1, 10:00";
history.appendChild(historyTime);
if (historyId) { history.dataset.id = historyId; }
log.appendChild(history);
const elements = {
  "chat-config": config, "chat-messages": log, "chat-form": new Element("form"),
  "chat-message-input": new Element("input"), "chat-status": new Element("p"),
};

const timers = [];
const sockets = [];
class FakeWebSocket {
  constructor(url) {
    this.url = url; this.readyState = 0; this.sent = []; this.listeners = {}; sockets.push(this);
  }
  addEventListener(type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); }
  fire(type, event) { for (const listener of this.listeners[type] || []) { listener(event); } }
  send(data) {
    if (this.readyState !== 1) { throw new Error("send on a closed socket"); }
    this.sent.push(JSON.parse(data));
  }
  close() { this.drop(1000); }
  open() { this.readyState = 1; this.fire("open", {}); }
  receive(payload) { this.fire("message", { data: JSON.stringify(payload) }); }
  drop(code) { this.readyState = 3; this.fire("close", { code }); }
}
FakeWebSocket.OPEN = 1;

// The page's clock (Date.now), moved by the scenario alone.
let now = 0;
class ClockDate extends Date {
  static now() { return now; }
}

const windowListeners = {};
const sandbox = {
  document: {
    getElementById: (id) => elements[id],
    createElement: (tag) => new Element(tag),
  },
  window: {
    location: { protocol, host: "educa.test" },
    setTimeout: (callback, delay) => { timers.push({ callback, delay }); return timers.length; },
    clearTimeout: () => {},
    addEventListener: (type, listener) => { windowListeners[type] = listener; },
    crypto: require("crypto").webcrypto,
  },
  WebSocket: FakeWebSocket, JSON, Math, Array, Date: ClockDate, String, isNaN,
};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(scriptPath, "utf8"), sandbox);

const status = () => elements["chat-status"].textContent;
const leaf = (item, className) => item.children.find((child) => child.className === className);
const submit = (text) => {
  elements["chat-message-input"].value = text;
  elements["chat-form"].fire("submit", { preventDefault() {} });
};
const runNextTimer = () => { const timer = timers.shift(); timer.callback(); return timer.delay; };
const result = { url: sockets[0].url, statusBeforeOpen: status(), historyTime: historyTime.textContent };
log.children = log.children.filter((child) => child !== history);
const notices = () => log.children
  .filter((item) => item.className.startsWith("notice") && item !== placeholder)
  .map((item) => item.textContent);
"""

# What a visitor does first: chat, lose the connection, come back, be removed.
MAIN = r"""
sockets[0].open();
result.statusOpen = status();
sockets[0].receive({ id: 1, user: "bob", message: "<b>hi</b>", datetime: "2026-01-01T10:00:00+00:00" });
sockets[0].receive({ id: 2, user: "ana", message: "mine", datetime: "2026-01-01T10:01:00+00:00" });
result.messages = log.children.map((item) => ({
  className: item.className, id: item.dataset.id,
  sender: leaf(item, "sender").textContent, text: leaf(item, "text").textContent,
}));
result.scrolledToNewest = log.scrollTop === log.scrollHeight;

submit("  hello  ");
result.sentWhileOpen = sockets[0].sent.slice();
result.inputClearedAfterSend = elements["chat-message-input"].value === "";
// the server stored it and sends it back: no longer pending
sockets[0].receive({
  id: 3, user: "ana", message: "hello", datetime: "2026-01-01T10:02:00+00:00", key: sockets[0].sent[0].key,
});
submit("x".repeat(11));
result.sentAfterTooLong = sockets[0].sent.length;
result.inputKeptWhenTooLong = elements["chat-message-input"].value === "x".repeat(11);
sockets[0].receive({ error: "refused by the server" });
result.notices = notices();

sockets[0].drop(1006);
result.statusDropped = status();
submit("offline");
result.statusQueued = status();
result.delays = [];
for (let attempt = 0; attempt < 7; attempt += 1) {
  result.delays.push(runNextTimer());
  sockets[sockets.length - 1].drop(1006);
}
result.delays.push(runNextTimer());
const resumed = sockets[sockets.length - 1];
resumed.open();
result.statusReconnected = status();
result.sentAfterReconnect = resumed.sent;
resumed.drop(1006);
result.delayAfterSuccess = runNextTimer();
result.socketsOpened = sockets.length;

const removed = sockets[sockets.length - 1];
removed.open();
const timersBeforeRemoval = timers.length;
removed.drop(4003);
result.retriesAfterRemoval = timers.length - timersBeforeRemoval;
result.statusRemoved = status();
"""

# The server's other closes: too fast, too many windows, signed out.
SERVER_CLOSES = r"""
sockets[0].open();
sockets[0].drop(4008);
result.noticesAfterTooFast = notices();
result.delayAfterTooFast = runNextTimer();
sockets[1].open();

sockets[1].drop(4029);
result.statusCrowded = status();
result.delaysCrowded = [runNextTimer()];
sockets[2].drop(4029);
result.delaysCrowded.push(runNextTimer());
result.crowdedNotices = notices().filter((text) => text.includes("too many windows")).length;
sockets[3].open();
result.statusBackIn = status();

sockets[3].drop(1006);
for (let number = 1; number <= 21; number += 1) {
  submit("queued " + number);
}
result.statusQueued = status();
result.queueFullNotices = notices().filter((text) => text.startsWith("Too many unsent")).length;
runNextTimer();
sockets[4].open();
// a burst at once, then one at a time at the server's pace
result.sentAtOnce = sockets[4].sent.length;
result.paceDelays = [];
for (let step = 0; step < 2; step += 1) {
  const pace = timers.shift();
  result.paceDelays.push(pace.delay);
  now += pace.delay;
  pace.callback();
}
result.sentAfterReconnect = sockets[4].sent.map((sent) => sent.message);

const timersBeforeSignOut = timers.length;
sockets[4].drop(4001);
result.retriesAfterSignOut = timers.length - timersBeforeSignOut;
result.statusSignedOut = status();
"""


# A deploy stops the Daphne process: nothing lost, nothing shown twice.
RECONNECT = r"""
const frame = (id, user, message, key) => ({ id, user, message, datetime: "2026-01-01T10:00:00+00:00", key });
result.firstUrl = sockets[0].url;
sockets[0].open();
submit("one");
submit("two");
const sentFirst = sockets[0].sent.slice();
// "one" is stored and comes back; the socket dies before "two" does
sockets[0].receive(frame(7, "ana", "one", sentFirst[0].key));
sockets[0].receive(frame(8, "bob", "hi", null));
sockets[0].drop(1001);
result.statusDropped = status();
submit("three");
runNextTimer();
result.reconnectUrl = sockets[1].url;
sockets[1].open();
result.sentFirst = sentFirst;
result.resent = sockets[1].sent.slice();
// caught up (8 again, and "two", which the server had stored after all), then live copies
sockets[1].receive(frame(8, "bob", "hi", null));
sockets[1].receive(frame(9, "ana", "two", sentFirst[1].key));
sockets[1].receive(frame(9, "ana", "two", sentFirst[1].key));
sockets[1].receive(frame(10, "ana", "three", sockets[1].sent[1].key));
result.shown = log.children
  .filter((item) => item.dataset.id)
  .map((item) => [item.dataset.id, leaf(item, "text").textContent]);
sockets[1].drop(1006);
result.statusAllConfirmed = status();
runNextTimer();
result.lastUrl = sockets[2].url;
sockets[2].open();
result.resentWhenAllConfirmed = sockets[2].sent.length;
"""


def run_chat_script(tmp_path, protocol="https:", scenario=MAIN, history_id=""):
    if NODE is None:
        pytest.fail("Node.js is needed to run the chat script: apt-get install nodejs", pytrace=False)
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS + scenario + "console.log(JSON.stringify(result));\n")
    script = settings.BASE_DIR / "static" / "js" / "chat.js"
    completed = subprocess.run(
        [NODE, str(harness), str(script), protocol, history_id],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        # A reader far from the site's UTC: times must be shown in their zone.
        env={**os.environ, "TZ": "Asia/Kolkata", "LANG": "C.UTF-8"},
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def chat_run(tmp_path_factory):
    return run_chat_script(tmp_path_factory.mktemp("chatjs"))


def test_the_socket_scheme_follows_the_page(tmp_path, chat_run):
    assert chat_run["url"] == "wss://educa.test/ws/chat/room/7/?after=0"
    assert run_chat_script(tmp_path, "http:")["url"] == "ws://educa.test/ws/chat/room/7/?after=0"


def test_history_times_are_shown_in_the_readers_time_zone(chat_run):
    # 10:00 UTC is 15:30 in Kolkata; the server wrote "Jan 1, 10:00".
    assert "03:30" in chat_run["historyTime"] or "15:30" in chat_run["historyTime"], chat_run["historyTime"]
    assert chat_run["historyTime"].startswith("Jan 1")


def test_the_status_says_connected_once_open(chat_run):
    assert chat_run["statusBeforeOpen"] == "connecting…"
    assert chat_run["statusOpen"] == "connected"


def test_messages_are_shown_as_text_and_own_ones_are_marked(chat_run):
    # The placeholder is gone; "<b>hi</b>" stays literal text (innerHTML would have thrown).
    assert chat_run["messages"] == [
        {"className": "message", "id": "1", "sender": "bob", "text": "<b>hi</b>"},
        {"className": "message me", "id": "2", "sender": "ana", "text": "mine"},
    ]
    assert chat_run["scrolledToNewest"]


def test_sending_trims_the_text_and_clears_the_input(chat_run):
    [sent] = chat_run["sentWhileOpen"]
    assert sent["message"] == "hello"
    assert re.fullmatch("[0-9a-f]{32}", sent["key"]), sent
    assert chat_run["inputClearedAfterSend"]


def test_a_message_over_the_limit_is_not_sent(chat_run):
    assert chat_run["sentAfterTooLong"] == 1
    assert chat_run["inputKeptWhenTooLong"]
    assert "Messages are limited to 10 characters." in chat_run["notices"]


def test_server_errors_are_shown(chat_run):
    assert "refused by the server" in chat_run["notices"]


def test_a_dropped_connection_is_retried_with_capped_exponential_backoff(chat_run):
    assert chat_run["statusDropped"] == "reconnecting…"
    delays = chat_run["delays"]
    bases = [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]
    for delay, base in zip(delays, bases, strict=True):
        assert 0.8 * base <= delay <= base
    assert chat_run["statusReconnected"] == "connected"
    # After a successful connection the backoff starts again from the shortest delay.
    assert 400 <= chat_run["delayAfterSuccess"] <= 500
    assert chat_run["socketsOpened"] == 10


def test_messages_written_while_offline_are_sent_after_reconnecting(chat_run):
    assert chat_run["statusQueued"] == "reconnecting… (1 message waiting)"
    assert [sent["message"] for sent in chat_run["sentAfterReconnect"]] == ["offline"]


def test_a_removed_member_is_not_reconnected(chat_run):
    # 4003: the server closed the room to this user; retrying would only be refused.
    assert chat_run["retriesAfterRemoval"] == 0
    assert chat_run["statusRemoved"] == "disconnected: you are no longer a member of this course"


@pytest.fixture(scope="module")
def closes_run(tmp_path_factory):
    return run_chat_script(tmp_path_factory.mktemp("chatjs-closes"), scenario=SERVER_CLOSES)


def test_a_client_closed_for_flooding_is_told_and_comes_back_slowly(closes_run):
    assert closes_run["noticesAfterTooFast"] == [
        "You sent messages too fast and were disconnected; the chat reconnects in a few seconds."
    ]
    # the longest delay at once, not the usual first half second
    assert 8000 <= closes_run["delayAfterTooFast"] <= 10000


def test_a_window_over_the_socket_cap_says_why_once_and_keeps_trying_slowly(closes_run):
    assert closes_run["statusCrowded"] == "waiting: the chat is open in too many windows"
    assert closes_run["crowdedNotices"] == 1
    for delay in closes_run["delaysCrowded"]:
        assert 8000 <= delay <= 10000
    assert closes_run["statusBackIn"] == "connected"


def test_queued_messages_go_out_no_faster_than_the_server_takes_them(closes_run):
    # rateBurst 3 at once, then one every 1/0.9 s (a little under 1 a second)
    assert closes_run["statusQueued"] == "reconnecting… (20 messages waiting)"
    assert closes_run["queueFullNotices"] == 1
    assert closes_run["sentAtOnce"] == 3
    assert all(1111 <= delay <= 1112 for delay in closes_run["paceDelays"]), closes_run["paceDelays"]
    assert closes_run["sentAfterReconnect"] == [f"queued {number}" for number in range(1, 6)]


def test_a_signed_out_user_is_not_reconnected(closes_run):
    assert closes_run["retriesAfterSignOut"] == 0
    assert closes_run["statusSignedOut"] == "disconnected: you signed out"


@pytest.fixture(scope="module")
def reconnect_run(tmp_path_factory):
    return run_chat_script(tmp_path_factory.mktemp("chatjs-reconnect"), scenario=RECONNECT, history_id="5")


def test_the_socket_asks_for_what_came_after_the_history_and_then_after_the_last_message(reconnect_run):
    assert reconnect_run["firstUrl"] == "wss://educa.test/ws/chat/room/7/?after=5"
    assert reconnect_run["reconnectUrl"] == "wss://educa.test/ws/chat/room/7/?after=8"
    assert reconnect_run["lastUrl"] == "wss://educa.test/ws/chat/room/7/?after=10"


def test_every_message_gets_a_key_of_its_own(reconnect_run):
    one, two = reconnect_run["sentFirst"]
    assert (one["message"], two["message"]) == ("one", "two")
    assert re.fullmatch("[0-9a-f]{32}", one["key"]) and re.fullmatch("[0-9a-f]{32}", two["key"])
    assert one["key"] != two["key"]


def test_a_message_never_confirmed_is_sent_again_with_its_key_after_reconnecting(reconnect_run):
    # "one" came back before the socket died; "two" did not; "three" was written offline
    assert reconnect_run["statusDropped"] == "reconnecting… (1 message waiting)"
    two = reconnect_run["sentFirst"][1]
    resent = reconnect_run["resent"]
    assert resent[0] == two
    assert resent[1]["message"] == "three" and resent[1]["key"] not in (
        two["key"],
        reconnect_run["sentFirst"][0]["key"],
    )
    assert len(resent) == 2


def test_a_message_already_shown_is_not_shown_again(reconnect_run):
    assert reconnect_run["shown"] == [["7", "one"], ["8", "hi"], ["9", "two"], ["10", "three"]]


def test_confirmed_messages_are_not_sent_again(reconnect_run):
    assert reconnect_run["statusAllConfirmed"] == "reconnecting…"
    assert reconnect_run["resentWhenAllConfirmed"] == 0
