// Campaign editor: a closed post opens into its full editing form when "Edit post" is pressed.
// The server renders the form from the values the closed post carries, so nothing typed is lost.
(function () {
  "use strict";

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function runScripts(root) {
    // Scripts inserted with innerHTML do not run; Wagtail's date picker needs its own.
    root.querySelectorAll("script").forEach(function (old) {
      const script = document.createElement("script");
      script.text = old.text;
      old.replaceWith(script);
    });
  }

  async function openPost(button) {
    const closed = button.closest("[data-post-closed]");
    const summary = closed.querySelector("[data-post-summary]");
    const status = closed.querySelector("[data-post-open-status]");
    const prefix = summary.name.replace(/-summary$/, "");
    const body = new FormData();
    body.append("prefix", prefix);
    body.append("summary", summary.value);
    button.disabled = true;
    status.textContent = "Opening…";
    let response;
    try {
      response = await fetch(button.dataset.postOpen, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" },
      });
    } catch (error) {
      response = null;
    }
    if (!response || !response.ok) {
      button.disabled = false;
      status.textContent = "This post could not be opened. Check your connection and try again; " +
        "your other changes are kept.";
      return;
    }
    const holder = document.createElement("div");
    holder.className = "post-open";
    holder.innerHTML = await response.text();
    closed.replaceWith(holder);
    runScripts(holder);
    const first = holder.querySelector("textarea, input:not([type=hidden])");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-post-open]");
    if (button) {
      event.preventDefault();
      openPost(button);
    }
  });
})();
