/*
 * Course chat client.
 *
 * Message text is user input: it only ever reaches the page through
 * textContent, so it is shown as text and never parsed as markup. The socket
 * reconnects on its own after a drop (exponential backoff, capped); messages
 * written meanwhile are queued and sent once the connection is back.
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
  // Close codes sent by the server (see chat/consumers.py).
  var CLOSE_TOO_BIG = 4009;
  var CLOSE_NOT_A_MEMBER = 4003;

  var socket = null;
  var failures = 0;
  var retryTimer = null;
  var leaving = false;
  var queue = [];

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + config.socketPath;
  }

  function setStatus(text, state) {
    statusLine.textContent = text;
    statusLine.className = "chat-status " + state;
  }

  function showWaiting() {
    var text = "reconnecting…";
    if (queue.length) {
      text += " (" + queue.length + " message" + (queue.length === 1 ? "" : "s") + " waiting)";
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

  function flushQueue() {
    while (queue.length && isOpen()) {
      socket.send(JSON.stringify({ message: queue.shift() }));
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
      appendMessage(data);
    }
  }

  function scheduleReconnect() {
    if (leaving || retryTimer !== null) {
      return;
    }
    var delay = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * Math.pow(2, failures));
    failures += 1;
    showWaiting();
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
      setStatus("connected", "connected");
      flushQueue();
    });
    socket.addEventListener("message", onFrame);
    socket.addEventListener("close", function (event) {
      socket = null;
      if (event.code === CLOSE_NOT_A_MEMBER) {
        // The room is closed to this user now: a new connection would be refused.
        leaving = true;
        setStatus("disconnected: you are no longer a member of this course", "disconnected");
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
    if (isOpen()) {
      socket.send(JSON.stringify({ message: text }));
      return true;
    }
    if (queue.length >= MAX_QUEUED) {
      appendNotice("Too many unsent messages; wait for the connection to come back.", "error");
      return false;
    }
    queue.push(text);
    showWaiting();
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
  scrollToNewest();
  connect();
})();
