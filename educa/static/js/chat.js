/*
 * Course chat client.
 *
 * Message text is user input: it only ever reaches the page through
 * textContent, so it is shown as text and never parsed as markup. The socket
 * reconnects on its own after a drop (exponential backoff, capped); messages
 * written meanwhile are queued and sent once the connection is back, no
 * faster than the server's message rate allows. The
 * server's close codes say when not to come back (removed from the course,
 * signed out) or to come back slowly (too fast, too many windows); see
 * docs/websocket.md.
 *
 * Nothing is lost or shown twice across a reconnect (a deploy closes every
 * socket of a Daphne process): each message carries a random key and stays
 * pending until the server sends it back with that key; pending messages
 * are sent again, same keys, on the next socket, and the server stores a
 * key once. The socket asks for what it missed (after=<highest id shown>),
 * and a message whose id is already shown is dropped.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var log = document.getElementById("chat-messages");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-message-input");
  var statusLine = document.getElementById("chat-status");

  var FIRST_RETRY_MS = 500;
  var LONGEST_RETRY_MS = 10000;
  var MAX_QUEUED = 20;
  // The server takes a burst of rateBurst messages on a socket, then
  // ratePerSecond a second, and refuses the rest. The page keeps a little
  // under that pace (network delays can bunch messages up): messages typed
  // faster wait in the queue and go out as the server will take them.
  var BURST = config.rateBurst || 10;
  var TOKENS_PER_MS = ((config.ratePerSecond || 1) * 0.9) / 1000;
  // Close codes sent by the server (see chat/consumers.py).
  var CLOSE_TOO_BIG = 4009;
  var CLOSE_NOT_A_MEMBER = 4003;
  var CLOSE_SIGNED_OUT = 4001;
  var CLOSE_TOO_FAST = 4008;
  var CLOSE_TOO_MANY_SOCKETS = 4029;

  var socket = null;
  var failures = 0;
  var retryTimer = null;
  var leaving = false;
  var crowded = false;
  // Messages not sent on the current socket yet, oldest first: {text, key}.
  var queue = [];
  // Messages sent on a socket that may have died before the server stored
  // them: sent again on the next one, until their echo (same key) arrives.
  var pending = [];
  // The ids of the messages on the page, and the highest of them.
  var shown = {};
  var lastId = 0;
  var tokens = BURST;
  var tokensAt = 0;
  var paceTimer = null;

  // Each socket first gets what the page has not shown: the messages after
  // the newest one shown (from the history the page was rendered with, at first).
  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + config.socketPath + "?after=" + lastId;
  }

  // 128 random bits in hex: the server takes 1 to 64 of [A-Za-z0-9_-].
  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var key = "";
    for (var i = 0; i < bytes.length; i += 1) {
      key += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    return key;
  }

  function unsent() {
    return queue.length + pending.length;
  }

  function markShown(id) {
    shown[id] = true;
    if (id > lastId) {
      lastId = id;
    }
  }

  // The server renders the history with each message's id (data-id).
  function rememberHistory() {
    for (var i = 0; i < log.children.length; i += 1) {
      var id = parseInt(log.children[i].dataset.id, 10);
      if (id > 0) {
        markShown(id);
      }
    }
  }

  function setStatus(text, state) {
    statusLine.textContent = text;
    statusLine.className = "chat-status " + state;
  }

  function showWaiting() {
    var text = "reconnecting…";
    var waiting = unsent();
    if (waiting) {
      text += " (" + waiting + " message" + (waiting === 1 ? "" : "s") + " waiting)";
    }
    setStatus(text, "reconnecting");
  }

  function scrollToNewest() {
    log.scrollTop = log.scrollHeight;
  }

  function removePlaceholder() {
    var placeholder = log.querySelector(".notice.empty");
    if (placeholder) {
      placeholder.remove();
    }
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return "";
    }
    return date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  // The history arrives rendered by the server (in the site's time zone);
  // show it in the reader's time zone, like the messages that arrive live.
  function localiseHistory() {
    var times = log.getElementsByTagName("time");
    for (var i = 0; i < times.length; i += 1) {
      var text = formatTime(times[i].dateTime);
      if (text) {
        times[i].textContent = text;
      }
    }
  }

  function appendMessage(data) {
    removePlaceholder();
    var item = document.createElement("div");
    item.className = data.user === config.username ? "message me" : "message";
    item.dataset.id = String(data.id);

    var sender = document.createElement("span");
    sender.className = "sender";
    sender.textContent = data.user;

    var time = document.createElement("time");
    time.dateTime = data.datetime;
    time.textContent = formatTime(data.datetime);

    var text = document.createElement("p");
    text.className = "text";
    text.textContent = data.message;

    item.append(sender, " ", time, text);
    log.appendChild(item);
    scrollToNewest();
  }

  function appendNotice(text, kind) {
    var notice = document.createElement("p");
    notice.className = "notice " + (kind || "");
    notice.textContent = text;
    log.appendChild(notice);
    scrollToNewest();
  }

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  function takeToken() {
    var now = Date.now();
    tokens = Math.min(BURST, tokens + (now - tokensAt) * TOKENS_PER_MS);
    tokensAt = now;
    if (tokens < 1) {
      return false;
    }
    tokens -= 1;
    return true;
  }

  function flushQueue() {
    while (queue.length && isOpen() && takeToken()) {
      var item = queue.shift();
      socket.send(JSON.stringify({ message: item.text, key: item.key }));
      pending.push(item);
    }
    if (queue.length && isOpen() && paceTimer === null) {
      paceTimer = window.setTimeout(function () {
        paceTimer = null;
        flushQueue();
      }, Math.ceil((1 - tokens) / TOKENS_PER_MS));
    }
  }

  function onFrame(event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (typeof data.error === "string") {
      appendNotice(data.error, "error");
    } else if (typeof data.message === "string") {
      confirmSent(data.key);
      // Caught up and live, or echoed again for a key sent twice: shown once.
      if (!shown[data.id]) {
        markShown(data.id);
        appendMessage(data);
      }
    }
  }

  // The server stored the message with this key: it is no longer pending.
  function confirmSent(key) {
    pending = pending.filter(function (item) {
      return item.key !== key;
    });
  }

  // After at least minimumDelay ms when the server asked for patience.
  function scheduleReconnect(minimumDelay, statusText) {
    if (leaving || retryTimer !== null) {
      return;
    }
    var delay = Math.max(minimumDelay || 0, Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * Math.pow(2, failures)));
    failures += 1;
    if (statusText) {
      setStatus(statusText, "reconnecting");
    } else {
      showWaiting();
    }
    // A little jitter keeps a room full of clients from reconnecting in lockstep.
    retryTimer = window.setTimeout(connect, delay * (0.8 + Math.random() * 0.2));
  }

  function connect() {
    retryTimer = null;
    if (failures === 0) {
      setStatus("connecting…", "connecting");
    }
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      failures = 0;
      crowded = false;
      // each socket starts with a full burst on the server
      tokens = BURST;
      tokensAt = Date.now();
      setStatus("connected", "connected");
      // The server may or may not have stored what was pending when the last
      // socket went: sent again first, with the same keys, it is stored once.
      queue = pending.concat(queue);
      pending = [];
      flushQueue();
    });
    socket.addEventListener("message", onFrame);
    socket.addEventListener("close", function (event) {
      socket = null;
      if (event.code === CLOSE_NOT_A_MEMBER || event.code === CLOSE_SIGNED_OUT) {
        // The room is closed to this user now: a new connection would be refused.
        leaving = true;
        setStatus(
          event.code === CLOSE_SIGNED_OUT
            ? "disconnected: you signed out"
            : "disconnected: you are no longer a member of this course",
          "disconnected"
        );
        return;
      }
      if (event.code === CLOSE_TOO_FAST) {
        appendNotice("You sent messages too fast and were disconnected; the chat reconnects in a few seconds.", "error");
        scheduleReconnect(LONGEST_RETRY_MS);
        return;
      }
      if (event.code === CLOSE_TOO_MANY_SOCKETS) {
        // Tried again every few seconds: it gets in once another window closes.
        if (!crowded) {
          crowded = true;
          appendNotice("This chat is open in too many windows or tabs; close one of them and this one reconnects.", "error");
        }
        scheduleReconnect(LONGEST_RETRY_MS, "waiting: the chat is open in too many windows");
        return;
      }
      if (event.code === CLOSE_TOO_BIG) {
        appendNotice("That message was far too long and was not sent.", "error");
      }
      scheduleReconnect();
    });
  }

  function reconnectNow() {
    if (retryTimer !== null) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
      connect();
    }
  }

  function send(text) {
    if (unsent() >= MAX_QUEUED) {
      appendNotice("Too many unsent messages; wait for them to go out.", "error");
      return false;
    }
    queue.push({ text: text, key: newKey() });
    if (isOpen()) {
      flushQueue();
    } else {
      showWaiting();
    }
    return true;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      return;
    }
    // Count code points, as the server does, not UTF-16 units.
    if (Array.from(text).length > config.maxLength) {
      appendNotice("Messages are limited to " + config.maxLength + " characters.", "error");
      return;
    }
    if (send(text)) {
      input.value = "";
    }
    input.focus();
  });

  // Back online: try at once instead of waiting out the backoff.
  window.addEventListener("online", reconnectNow);
  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket !== null) {
      socket.close();
    }
  });
  window.addEventListener("pageshow", function (event) {
    // Restored from the back/forward cache with a closed socket.
    if (event.persisted) {
      leaving = false;
      failures = 0;
      connect();
    }
  });

  localiseHistory();
  rememberHistory();
  scrollToNewest();
  connect();
})();
