// The content calendar: move a post by dragging it to another day (HTML5 drag and drop).
// Progressive enhancement: each movable post has its own form (a date box and "Move"), which
// works without this script and from the keyboard; a drop fills in that date box and submits the
// form, so the server decides and the page says what happened. A post that cannot move carries
// the reason (data-move-refused): dropping it says why, and nothing is sent.
(function () {
  "use strict";

  var grid = document.querySelector(".calendar-grid");
  var status = document.getElementById("calendar-move-status");
  if (!grid || !status) {
    return;
  }
  var dragged = null;

  function say(text, refused) {
    status.textContent = text;
    status.classList.toggle("refused", Boolean(refused));
  }

  function clearTargets() {
    grid.querySelectorAll("td.drop-target").forEach(function (cell) {
      cell.classList.remove("drop-target");
    });
  }

  grid.querySelectorAll(".entry[data-campaign]").forEach(function (entry) {
    if (!entry.querySelector("form.move") && !entry.hasAttribute("data-move-refused")) {
      return;
    }
    entry.setAttribute("draggable", "true");
    entry.classList.add("draggable");
    entry.addEventListener("dragstart", function (event) {
      dragged = entry;
      entry.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      // Some browsers start a drag only with data set.
      event.dataTransfer.setData("text/plain", entry.querySelector("a").textContent.trim());
    });
    entry.addEventListener("dragend", function () {
      entry.classList.remove("dragging");
      clearTargets();
      dragged = null;
    });
  });

  grid.querySelectorAll("td[data-date]").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      if (!dragged) {
        return;
      }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      if (!cell.classList.contains("drop-target")) {
        clearTargets();
        cell.classList.add("drop-target");
      }
    });
    cell.addEventListener("dragleave", function (event) {
      if (!cell.contains(event.relatedTarget)) {
        cell.classList.remove("drop-target");
      }
    });
    cell.addEventListener("drop", function (event) {
      var entry = dragged;
      event.preventDefault();
      clearTargets();
      dragged = null;
      if (!entry || entry.closest("td") === cell) {
        return;
      }
      var refused = entry.getAttribute("data-move-refused");
      if (refused) {
        say("Not moved: " + refused, true);
        return;
      }
      var form = entry.querySelector("form.move");
      form.elements.day.value = cell.getAttribute("data-date");
      entry.classList.add("moving");
      say("Moving the post to " + cell.getAttribute("data-date") + "…", false);
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
    });
  });
})();
