// Campaign editor: "Next free slot" beside each post's time. It asks the server for the first
// posting slot of the post's channels that no other post takes (other campaigns, and the other
// posts of this campaign as the form holds them now, saved or not) and fills the time in.
(function () {
  "use strict";

  const script = document.currentScript || document.querySelector("script[data-next-slot-url]");
  const url = script ? script.dataset.nextSlotUrl : null;
  const TIME = /^posts-(\d+)-publish_at$/;

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function checkedChannels(prefix) {
    return Array.from(document.querySelectorAll('input[name="' + prefix + '-channels"]:checked'))
      .map(function (box) { return box.value; });
  }

  function deleted(child) {
    const input = child.querySelector('input[name$="-DELETE"]');
    return input && (input.value === "1" || input.value === "on" || input.checked === true);
  }

  function otherPosts(prefix) {
    const others = [];
    document.querySelectorAll("[data-inline-panel-child]").forEach(function (child) {
      if (deleted(child)) return;
      const summary = child.querySelector("[data-post-summary]");
      if (summary) {
        if (summary.name === prefix + "-summary") return;
        try {
          const data = JSON.parse(summary.value);
          others.push({ at: data.publish_at || "", channels: data.channels || [] });
        } catch (error) { /* an unreadable row is checked when saving */ }
        return;
      }
      const time = child.querySelector('input[name$="-publish_at"]');
      if (!time || !TIME.test(time.name)) return;
      const other = time.name.replace(/-publish_at$/, "");
      if (other === prefix) return;
      others.push({ at: time.value, channels: checkedChannels(other) });
    });
    return others;
  }

  function campaignId() {
    const match = window.location.pathname.match(/\/pages\/(\d+)\/edit\//);
    return match ? parseInt(match[1], 10) : null;
  }

  async function fill(button, input, status) {
    const prefix = input.name.replace(/-publish_at$/, "");
    status.textContent = "Finding a slot…";
    status.classList.remove("post-slot__status--problem");
    button.disabled = true;
    let data = null;
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ channels: checkedChannels(prefix), campaign: campaignId(),
                               others: otherPosts(prefix) }),
      });
      data = await response.json();
    } catch (error) {
      data = { problem: "No slot could be found just now. Check your connection and try again." };
    }
    button.disabled = false;
    if (data.value) {
      input.value = data.value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
      status.textContent = "Set to " + data.label + ", the next free slot.";
    } else {
      status.textContent = data.problem || "No free slot found.";
      status.classList.add("post-slot__status--problem");
    }
  }

  function addButtons(root) {
    if (!url) return;
    root.querySelectorAll('input[name$="-publish_at"]').forEach(function (input) {
      if (!TIME.test(input.name) || input.dataset.nextSlot) return;
      input.dataset.nextSlot = "ready";
      const box = document.createElement("div");
      box.className = "post-slot";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button button-small button-secondary";
      button.textContent = "Next free slot";
      button.setAttribute("aria-describedby", input.id || "");
      const status = document.createElement("span");
      status.className = "post-slot__status";
      status.setAttribute("role", "status");
      button.addEventListener("click", function () { fill(button, input, status); });
      box.append(button, status);
      const wrapper = input.closest("[data-field-wrapper]") || input.parentElement;
      wrapper.after(box);
    });
  }

  function start() {
    addButtons(document);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) {
          if (node.nodeType === 1) addButtons(node);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
