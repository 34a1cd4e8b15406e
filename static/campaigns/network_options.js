// A post's network options (campaigns/widgets/network_options.html): each network's group shows
// while one of the post's chosen channels is on that network, and hides (keeping its values)
// otherwise. Posts opened later are handled too (the editor loads them into the page).
(function () {
  "use strict";

  function postOf(group) {
    let node = group.parentElement;
    while (node && !node.querySelector('input[type="checkbox"][name$="-channels"]')) {
      node = node.parentElement;
    }
    return node;
  }

  function update() {
    document.querySelectorAll("[data-network-options][data-channels]").forEach(function (group) {
      const post = postOf(group);
      if (!post) return;
      const ids = (group.dataset.channels || "").split(" ").filter(Boolean);
      const chosen = ids.some(function (id) {
        const box = post.querySelector('input[type="checkbox"][name$="-channels"][value="' + id + '"]');
        return box && box.checked;
      });
      group.hidden = !chosen;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('input[type="checkbox"][name$="-channels"]')) {
      update();
    }
  });
  document.addEventListener("DOMContentLoaded", update);
  new MutationObserver(function (records) {
    if (records.some(function (r) { return r.addedNodes.length; })) update();
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
