// Campaign editor: closed posts open into their full form on "Edit post", and every post shows
// the sensitivity linter's findings beside it (live while typing in an open post).
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

  // --- Sensitivity findings ------------------------------------------------------------------

  function lintUrl() {
    const forms = document.querySelector("[data-posts-lint]");
    return forms ? forms.dataset.postsLint : null;
  }

  function closedItem(closed) {
    const summary = JSON.parse(closed.querySelector("[data-post-summary]").value);
    const alts = (summary.media || []).filter(function (b) { return b.type === "image"; })
      .map(function (b) { return (b.value && b.value.alt_text) || ""; });
    return { copy: summary.copy || "", alt_texts: alts };
  }

  function openItem(child, prefix) {
    const copy = child.querySelector('[name="' + prefix + '-copy"]');
    const alts = Array.from(child.querySelectorAll('input[name^="' + prefix + '-media-"]'))
      .filter(function (input) { return /-value-alt_text$/.test(input.name); })
      .filter(function (input) {
        const deleted = document.querySelector('[name="' + input.name.replace(/-value-alt_text$/, "-deleted") + '"]');
        return !deleted || deleted.value !== "1";
      })
      .map(function (input) { return input.value; });
    return { copy: copy ? copy.value : "", alt_texts: alts };
  }

  function render(box, findings, categories) {
    box.replaceChildren();
    const all = findings.copy.map(function (f) { return [null, f]; });
    findings.alt_texts.forEach(function (list, index) {
      list.forEach(function (f) { all.push([index + 1, f]); });
    });
    if (!all.length) return;
    const heading = document.createElement("p");
    heading.className = "post-lint__heading";
    heading.textContent = all.length === 1 ? "1 thing to check" : all.length + " things to check";
    const list = document.createElement("ul");
    list.className = "post-lint__list";
    all.forEach(function (pair) {
      const image = pair[0], f = pair[1];
      const item = document.createElement("li");
      item.className = "post-lint__item post-lint__item--" + f.severity;
      item.dataset.rule = f.rule;
      const label = document.createElement("strong");
      label.textContent = (f.severity === "error" ? "Must fix · " : "Check · ") +
        (categories[f.category] || f.category) + (image ? " (alt text of image " + image + ")" : "") + ": ";
      item.append(label, document.createTextNode(f.message));
      if (f.suggestions && f.suggestions.length) {
        item.append(document.createTextNode(" Try: " + f.suggestions.slice(0, 4).join(", ") + "."));
      }
      list.append(item);
    });
    box.append(heading, list);
  }

  async function lint(entries) {
    // entries: [{key, item, box}]
    const url = lintUrl();
    if (!url || !entries.length) return;
    let response;
    try {
      response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ items: entries.map(function (e) { return Object.assign({ key: e.key }, e.item); }) }),
      });
    } catch (error) {
      return;  // findings are advice; saving still checks the network rules
    }
    if (!response.ok) return;
    const data = await response.json();
    data.items.forEach(function (result, index) {
      render(entries[index].box, result, data.categories);
    });
  }

  function openBox(child, prefix) {
    let box = child.querySelector("[data-post-lint]");
    if (!box) {
      const copy = child.querySelector('[name="' + prefix + '-copy"]');
      if (!copy) return null;
      box = document.createElement("div");
      box.className = "post-lint";
      box.dataset.postLint = "";
      box.setAttribute("aria-live", "polite");
      const wrapper = copy.closest("[data-field-wrapper]") || copy.parentElement;
      wrapper.after(box);
    }
    return box;
  }

  function lintOpen(child) {
    const prefix = child.id.replace(/^inline_child_/, "");
    const box = openBox(child, prefix);
    if (box) lint([{ key: prefix, item: openItem(child, prefix), box: box }]);
  }

  const timers = new Map();
  document.addEventListener("input", function (event) {
    const name = event.target.name || "";
    if (!/^posts-\d+-(copy|media-\d+-value-alt_text)$/.test(name)) return;
    const child = event.target.closest("[data-inline-panel-child]");
    if (!child) return;
    clearTimeout(timers.get(child.id));
    timers.set(child.id, setTimeout(function () { lintOpen(child); }, 400));
  });

  document.addEventListener("DOMContentLoaded", function () {
    const closed = Array.from(document.querySelectorAll("[data-post-closed]")).map(function (row) {
      return { key: row.closest("[data-inline-panel-child]").id, item: closedItem(row),
               box: row.querySelector("[data-post-lint]") };
    });
    lint(closed);
    document.querySelectorAll("[data-inline-panel-child]").forEach(function (child) {
      if (!child.querySelector("[data-post-closed]") && child.closest("[data-posts-lint]")) lintOpen(child);
    });
  });

  // --- Opening a closed post -------------------------------------------------------------------

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
    const child = holder.closest("[data-inline-panel-child]");
    if (child) lintOpen(child);
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
