// Tells the agency that a person has the review page open: on the first scroll, touch, key or
// pointer movement, one POST (with the form's CSRF token) to the page's "opened" address. A
// bare fetch of the link is not enough: mail scanners fetch links, and some run their scripts,
// but none of them reads the page.
(function () {
  "use strict";
  var form = document.querySelector("form[data-opened-url]");
  if (!form || !window.fetch) {
    return;
  }
  var events = ["pointerdown", "pointermove", "touchstart", "keydown", "scroll", "wheel"];
  var sending = false;
  function stop() {
    events.forEach(function (name) {
      window.removeEventListener(name, send, true);
    });
  }
  function send() {
    if (sending) {
      return;
    }
    sending = true;
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
    fetch(form.getAttribute("data-opened-url"), {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: {"X-CSRFToken": csrf ? csrf.value : ""}
    }).then(stop, function () {
      sending = false; // the network failed: the next sign tries again
    });
  }
  events.forEach(function (name) {
    window.addEventListener(name, send, {capture: true, passive: true});
  });
})();
