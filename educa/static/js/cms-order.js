/*
 * Reordering for the course CMS.
 *
 * Any list with a data-order-url attribute becomes sortable: its children that
 * carry data-id can be dragged (HTML5 drag and drop), or moved with their
 * "move up" / "move down" buttons, which also serve touch screens and
 * keyboards. After each move the new positions are posted as JSON
 * ({"<id>": <position>, ...}); the request carries the CSRF token in the
 * X-CSRFToken header, because the endpoint keeps Django's CSRF protection.
 *
 * The list's status line (a polite live region) says where the row went
 * ("“Title” is now 2 of 5.", from the row's data-title) and whether the
 * order was saved, so someone who cannot see the list hears the result.
 */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) {
      return input.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function rows(list) {
    return Array.prototype.filter.call(list.children, function (child) {
      return child.hasAttribute("data-id");
    });
  }

  function statusFor(list) {
    var next = list.nextElementSibling;
    return next && next.classList.contains("order-status") ? next : null;
  }

  function announce(list, text, isError) {
    var status = statusFor(list);
    if (!status) {
      return;
    }
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function whereIs(list, row) {
    var all = rows(list);
    var title = row.getAttribute("data-title");
    var name = title ? "“" + title + "”" : "The row";
    return name + " is now " + (all.indexOf(row) + 1) + " of " + all.length + ".";
  }

  // Numbers shown in the rows ("Module 2") follow the new order at once.
  function renumber(list) {
    rows(list).forEach(function (row, index) {
      row.querySelectorAll(".order-position").forEach(function (number) {
        number.textContent = String(index + 1);
      });
    });
  }

  function currentOrder(list) {
    return rows(list).map(function (row) {
      return row.getAttribute("data-id");
    }).join(",");
  }

  function postOrder(list) {
    var order = {};
    rows(list).forEach(function (row, position) {
      order[row.getAttribute("data-id")] = position;
    });
    return fetch(list.getAttribute("data-order-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(),
        "X-Requested-With": "XMLHttpRequest"
      },
      body: JSON.stringify(order)
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
    });
  }

  // One request at a time per list: when a row is moved twice in quick
  // succession (a key pressed twice), the first order must not reach the
  // server after the second. Moves made meanwhile are sent together next.
  var inFlight = new WeakMap();

  function send(list, state) {
    inFlight.set(list, state);
    postOrder(list).then(function () {
      if (state.again) {
        send(list, { again: false, where: state.where });
        return;
      }
      inFlight.delete(list);
      announce(list, state.where + "Order saved.", false);
    }).catch(function () {
      inFlight.delete(list);
      announce(list, "The new order could not be saved. Reload the page and try again.", true);
    });
  }

  function saveOrder(list, moved) {
    var where = moved ? whereIs(list, moved) + " " : "";
    renumber(list);
    announce(list, where + "Saving…", false);
    var state = inFlight.get(list);
    if (state) {
      state.again = true;
      state.where = where;
    } else {
      send(list, { again: false, where: where });
    }
  }

  function moveRow(list, row, direction) {
    var sibling = direction < 0 ? row.previousElementSibling : row.nextElementSibling;
    while (sibling && !sibling.hasAttribute("data-id")) {
      sibling = direction < 0 ? sibling.previousElementSibling : sibling.nextElementSibling;
    }
    if (!sibling) {
      return false;
    }
    list.insertBefore(row, direction < 0 ? sibling : sibling.nextElementSibling);
    return true;
  }

  // Moving a row takes the focus out of it: give it back to the button
  // pressed or, when the row has reached that end of the list (where the
  // button is hidden), to the row's other button.
  function refocus(list, row, button) {
    var all = rows(list);
    var up = button.classList.contains("move-up");
    var atEnd = up ? all[0] === row : all[all.length - 1] === row;
    var other = row.querySelector(up ? ".move-down" : ".move-up");
    (atEnd && other ? other : button).focus();
  }

  function rowAfterPointer(list, y, dragged) {
    var candidates = rows(list).filter(function (row) {
      return row !== dragged;
    });
    for (var i = 0; i < candidates.length; i += 1) {
      var box = candidates[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) {
        return candidates[i];
      }
    }
    return null;
  }

  function makeSortable(list) {
    var dragged = null;
    var orderBefore = "";

    list.classList.add("is-sortable");
    rows(list).forEach(function (row) {
      // A row holding form fields (the module formset) moves with its buttons
      // only: were it draggable, selecting text in a field would drag the row.
      if (row.querySelector("input:not([type=hidden]), select, textarea")) {
        return;
      }
      row.setAttribute("draggable", "true");
      // Links and buttons inside a row would otherwise start their own drag.
      row.querySelectorAll("a, button").forEach(function (control) {
        control.setAttribute("draggable", "false");
      });
    });

    list.addEventListener("dragstart", function (event) {
      var row = event.target.closest ? event.target.closest("[data-id]") : null;
      if (!row || row.parentNode !== list || row.getAttribute("draggable") !== "true") {
        return;
      }
      dragged = row;
      orderBefore = currentOrder(list);
      row.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", row.getAttribute("data-id"));
    });

    list.addEventListener("dragover", function (event) {
      if (!dragged) {
        return;
      }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      var after = rowAfterPointer(list, event.clientY, dragged);
      if (after) {
        list.insertBefore(dragged, after);
      } else {
        list.appendChild(dragged);
      }
    });

    list.addEventListener("drop", function (event) {
      if (dragged) {
        event.preventDefault();
      }
    });

    list.addEventListener("dragend", function () {
      if (!dragged) {
        return;
      }
      var row = dragged;
      row.classList.remove("is-dragging");
      dragged = null;
      if (currentOrder(list) !== orderBefore) {
        saveOrder(list, row);
      }
    });

    list.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest(".move-up, .move-down") : null;
      if (!button) {
        return;
      }
      var row = button.closest("[data-id]");
      if (!row || row.parentNode !== list) {
        return;
      }
      event.preventDefault();
      if (moveRow(list, row, button.classList.contains("move-up") ? -1 : 1)) {
        refocus(list, row, button);
        saveOrder(list, row);
      }
    });
  }

  function init() {
    document.querySelectorAll("[data-order-url]").forEach(makeSortable);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
