/*
 * Reordering for the course CMS.
 *
 * Any list with a data-order-url attribute becomes sortable: its children that
 * carry data-id can be dragged (HTML5 drag and drop), or moved with their
 * "move up" / "move down" buttons, which also serve touch screens and
 * keyboards. After each move the new positions are posted as JSON
 * ({"<id>": <position>, ...}); the request carries the CSRF token in the
 * X-CSRFToken header, because the endpoint keeps Django's CSRF protection.
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

  function currentOrder(list) {
    return rows(list).map(function (row) {
      return row.getAttribute("data-id");
    }).join(",");
  }

  function saveOrder(list) {
    var order = {};
    rows(list).forEach(function (row, position) {
      order[row.getAttribute("data-id")] = position;
    });
    announce(list, "Saving…", false);
    fetch(list.getAttribute("data-order-url"), {
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
      announce(list, "Order saved.", false);
    }).catch(function () {
      announce(list, "The new order could not be saved. Reload the page and try again.", true);
    });
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
      row.setAttribute("draggable", "true");
      // Links and buttons inside a row would otherwise start their own drag.
      row.querySelectorAll("a, button").forEach(function (control) {
        control.setAttribute("draggable", "false");
      });
    });

    list.addEventListener("dragstart", function (event) {
      var row = event.target.closest ? event.target.closest("[data-id]") : null;
      if (!row || row.parentNode !== list) {
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
      dragged.classList.remove("is-dragging");
      dragged = null;
      if (currentOrder(list) !== orderBefore) {
        saveOrder(list);
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
        button.focus();
        saveOrder(list);
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
