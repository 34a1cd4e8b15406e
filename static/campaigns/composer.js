// Campaign editor, the composer: while a post is typed, a character counter per network (counted
// as campaigns/networks.py counts) and a preview per selected channel, beside the copy; images
// dropped or uploaded in place, their alt text asked once; a warning beside the post's time when
// it leaves the client too little time to approve. Without this script the editor still works:
// saving checks every network rule, and the preview panel shows each network's card.
(function () {
  "use strict";

  // --- Counting, exactly as campaigns/networks.py does ------------------------------------------

  // networks.URL_RE and MASTODON_MENTION_RE; \w as the `regex` module has it for text.
  const URL_RE = /https?:\/\/[^\s<>"]+/giu;
  const WORD = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
  const MENTION_RE = new RegExp("(?<![" + WORD + "@])@([" + WORD + "]+)@[" + WORD + ".\\-]+[" +
                                WORD + "]", "gu");
  const segmenter = (typeof Intl !== "undefined" && Intl.Segmenter)
    ? new Intl.Segmenter("en", { granularity: "grapheme" }) : null;

  function graphemes(text) {
    if (!segmenter) return Array.from(text).length;
    let count = 0;
    for (const _ of segmenter.segment(text)) count += 1;  // eslint-disable-line no-unused-vars
    return count;
  }

  function codePoints(text) {
    return Array.from(text).length;
  }

  // networks.x_weighted: X's weighted length (twitter-text): NFC; an http(s) URL weighs 23, a
  // grapheme with a pictograph, a regional indicator or a keycap 2, any other code point 1 in
  // X_LIGHT_RANGES and 2 outside them.
  const X_LIGHT_RANGES = [[0x0000, 0x10FF], [0x2000, 0x200D], [0x2010, 0x201F], [0x2032, 0x2037]];
  const X_EMOJI_RE = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]/u;

  function xWeighted(text) {
    const normal = text.normalize("NFC").replace(URL_RE, "x".repeat(23));
    const pieces = segmenter ? Array.from(segmenter.segment(normal), function (s) { return s.segment; })
      : Array.from(normal);
    let total = 0;
    pieces.forEach(function (grapheme) {
      if (X_EMOJI_RE.test(grapheme)) { total += 2; return; }
      for (const c of grapheme) {
        const point = c.codePointAt(0);
        total += X_LIGHT_RANGES.some(function (r) { return point >= r[0] && point <= r[1]; }) ? 1 : 2;
      }
    });
    return total;
  }

  // Network.length: Mastodon counts every URL as 23 characters and a remote mention as its
  // local part, in code points; X weighs characters (xWeighted); the others count
  // user-perceived characters (graphemes).
  function length(rules, text) {
    if (rules.count === "x") return xWeighted(text);
    if (rules.count === "mastodon") {
      return codePoints(text.replace(URL_RE, "x".repeat(23))
        .replace(MENTION_RE, function (_, local) { return "@" + local; }));
    }
    return graphemes(text);
  }

  // A textarea's line breaks reach the server as CRLF (and are kept): count what will be saved.
  function asSubmitted(copy) {
    return copy.replace(/\r?\n/g, "\r\n");
  }

  // PostDraft.text: the copy, then the link on its own line unless the copy has it.
  function draftText(copy, link) {
    if (link && copy.indexOf(link) === -1) {
      return copy.trim() ? copy.replace(/\s+$/u, "") + "\n\n" + link : link;
    }
    return copy;
  }

  function asLink(value) {
    const link = value.trim();
    if (link && !/^[a-z][a-z0-9+.\-]*:\/\//i.test(link)) return "http://" + link;  // as URLField
    return link;
  }

  // --- The editor's data and fields ----------------------------------------------------------------

  let data;
  function config() {
    if (data === undefined) {
      const node = document.getElementById("posts-composer");
      data = node ? JSON.parse(node.textContent) : null;
    }
    return data;
  }

  function wrapperOf(node) {
    return node.closest(".w-field__wrapper, [data-field-wrapper]") || node.parentElement;
  }

  function prefixOf(child) {
    return child.id.replace(/^inline_child_/, "");
  }

  function field(child, prefix, name) {
    return child.querySelector('[name="' + prefix + "-" + name + '"]');
  }

  function mediaState(prefix) {
    const root = document.getElementById(prefix + "-media-root");
    if (!root || !root.rootBlock) return [];
    try {
      return root.rootBlock.getState() || [];
    } catch (error) {
      return [];
    }
  }

  function postValues(child, prefix) {
    const copy = field(child, prefix, "copy");
    const link = field(child, prefix, "link");
    const channels = Array.from(child.querySelectorAll('input[name="' + prefix + '-channels"]:checked'))
      .map(function (box) { return box.value; });
    const images = mediaState(prefix).filter(function (item) { return item.type === "image"; })
      .map(function (item) {
        const value = item.value || {};
        const image = value.image || null;
        return { url: image && image.preview ? image.preview.url : "", alt: value.alt_text || "",
                 chosen: !!image };
      });
    const videos = mediaState(prefix).filter(function (item) { return item.type === "video"; }).length;
    return { copy: copy ? copy.value : "", link: link ? asLink(link.value) : "", channels: channels,
             images: images, videos: videos };
  }

  // --- Counter and previews ------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function problems(rules, count, values) {
    const found = [];
    if (count > rules.max_length) {
      // Network.problems' words
      const unit = rules.count === "mastodon" ? "characters"
        : rules.count === "x" ? "characters (links count 23, emoji and wide characters 2)"
          : "characters (emoji count as one)";
      found.push(rules.label + " allows " + rules.max_length + " " + unit + "; this post has " +
                 count + ". Shorten it by " + (count - rules.max_length) + ".");
    }
    if (values.images.length > rules.max_images) {
      found.push(rules.label + " takes at most " + rules.max_images + " images; this post has " +
                 values.images.length + ".");
    }
    return found;
  }

  function card(channel, rules, text, count, values, number) {
    const article = el("article", "composer-card composer-card--" + channel.network);
    article.setAttribute("aria-label", "Preview on " + channel.name);
    article.dataset.composerCard = channel.network;
    const head = el("header", "composer-card__head");
    head.append(el("span", "composer-card__avatar", (channel.name[0] || "?").toUpperCase()));
    const who = el("span", "composer-card__who");
    who.append(el("strong", "", channel.name), el("span", "composer-card__handle", channel.handle));
    head.append(who, el("span", "composer-card__network", rules.label));
    article.append(head);
    article.append(el("p", "composer-card__text", text || "(no text yet)"));
    const shown = values.images.filter(function (image) { return image.url; });
    if (shown.length) {
      const grid = el("div", "composer-card__media composer-card__media--" + Math.min(shown.length, 4));
      shown.forEach(function (image) {
        const img = document.createElement("img");
        img.src = image.url;
        img.alt = image.alt;
        grid.append(img);
      });
      article.append(grid);
    }
    const foot = el("footer", "composer-card__foot");
    const counter = el("span", "composer-card__count" + (count > rules.max_length ? " is-over" : ""),
                       count + " / " + rules.max_length);
    counter.dataset.composerCount = number;
    foot.append(counter);
    article.append(foot);
    return article;
  }

  function update(child) {
    const settings = config();
    const box = child.querySelector("[data-composer]");
    if (!settings || !box) return;
    const prefix = prefixOf(child);
    const values = postValues(child, prefix);
    const text = draftText(values.copy, values.link);
    const counted = draftText(asSubmitted(values.copy), values.link);
    const key = JSON.stringify([values, text]);
    if (box._composerKey === key) return;  // nothing changed: keep the cards as they are
    box._composerKey = key;
    const counts = box.querySelector("[data-composer-counts]");
    const cards = box.querySelector("[data-composer-previews]");
    const issues = box.querySelector("[data-composer-problems]");
    counts.replaceChildren();
    cards.replaceChildren();
    issues.replaceChildren();
    const seen = new Set();
    const selected = values.channels.filter(function (pk) { return settings.channels[pk]; });
    if (!selected.length) {
      counts.append(el("span", "composer__hint", "Choose a channel to see the post as its network shows it and count it as the network counts."));
    }
    selected.forEach(function (pk) {
      const channel = settings.channels[pk];
      const rules = settings.networks[channel.network];
      if (!rules) return;
      const count = length(rules, counted);
      if (!seen.has(channel.network)) {
        seen.add(channel.network);
        const over = count > rules.max_length;
        const item = el("span", "composer__count" + (over ? " is-over" : ""));
        item.dataset.network = channel.network;
        item.append(el("strong", "", rules.label + " "),
                    el("span", "", count + " / " + rules.max_length),
                    document.createTextNode(over ? " · " + (count - rules.max_length) + " over"
                                                 : " · " + (rules.max_length - count) + " left"));
        counts.append(item);
        problems(rules, count, values).forEach(function (problem) {
          issues.append(el("li", "", problem));
        });
      }
      cards.append(card(channel, rules, text, count, values, pk));
    });
  }

  function schedule(child) {
    if (child._composerFrame) return;
    child._composerFrame = requestAnimationFrame(function () {
      child._composerFrame = null;
      update(child);
      warnDeadline(child);
    });
  }

  // --- The approval lead time ----------------------------------------------------------------------

  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // Wall-clock minutes in the brand's zone (the date box's value is in it), as if UTC.
  function nowInZone(zone) {
    const parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date()).forEach(function (part) { parts[part.type] = part.value; });
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute) / 60000;
  }

  function typedMinutes(value) {
    const m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})/.exec(value || "");
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) / 60000 : null;
  }

  function format(minutes) {
    const d = new Date(minutes * 60000);
    const pad = function (n) { return String(n).padStart(2, "0"); };
    return DAYS[d.getUTCDay()] + " " + d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " +
      d.getUTCFullYear() + ", " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  // campaigns.editor.deadline_warning, for the time being typed.
  function deadlineWarning(value, settings) {
    if (settings.lead_hours === null || settings.lead_hours === undefined) return "";
    const when = typedMinutes(value);
    if (when === null) return "";
    const now = nowInZone(settings.zone);
    const lead = Math.round(settings.lead_hours * 60);
    if (when <= now) return settings.flag_past ? "This time has passed: choose a later one." : "";
    if (when - lead >= now) return "";
    return "Inside the client's approval lead time: approval is due " +
      Math.round(settings.lead_hours) + " hours before the first post, so this one needed it by " +
      format(when - lead) + ". Move it after " + format(now + lead) +
      ", or agree a quicker approval with the client.";
  }

  function warnDeadline(child) {
    const settings = config();
    const input = field(child, prefixOf(child), "publish_at");
    if (!settings || !input) return;
    const wrapper = wrapperOf(input);
    let note = wrapper.querySelector("[data-post-deadline]");
    const warning = deadlineWarning(input.value, settings);
    if (!warning) {
      if (note) note.remove();
      return;
    }
    if (!note) {
      note = el("p", "post-deadline post-deadline--open");
      note.dataset.postDeadline = "";
      note.setAttribute("role", "status");
      wrapper.append(note);
    }
    if (note.textContent !== warning) note.textContent = warning;
  }

  // --- Images dropped or uploaded in place ---------------------------------------------------------

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  let dialog = null;
  function altDialog() {
    if (dialog) return dialog;
    dialog = el("dialog", "composer-alt");
    dialog.setAttribute("aria-labelledby", "composer-alt-heading");
    const form = el("form", "composer-alt__form");
    form.method = "dialog";
    form.noValidate = true;
    const heading = el("h2", "composer-alt__heading", "Describe this image");
    heading.id = "composer-alt-heading";
    const img = el("img", "composer-alt__image");
    img.alt = "";
    const label = el("label", "w-field__label", "Alt text");
    label.htmlFor = "composer-alt-text";
    const input = el("textarea", "composer-alt__input");
    input.id = "composer-alt-text";
    input.rows = 3;
    input.maxLength = 255;
    input.setAttribute("aria-describedby", "composer-alt-help");
    const help = el("p", "composer-alt__help", "What the image shows, for people who use screen " +
      "readers; skip “image of”. It is saved with the image in the brand's library and on this " +
      "post, so you will not be asked again.");
    help.id = "composer-alt-help";
    const error = el("p", "composer-alt__error error-message");
    error.setAttribute("role", "alert");
    const actions = el("div", "composer-alt__actions");
    const add = el("button", "button", "Add image");
    add.type = "submit";
    const cancel = el("button", "button button-secondary", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", function () { dialog.close("cancel"); });
    actions.append(add, cancel);
    form.append(heading, img, label, input, help, error, actions);
    dialog.append(form);
    document.body.append(dialog);
    return dialog;
  }

  // Ask the alt text for one file; resolves to the text, or null when cancelled.
  function askAltText(file) {
    const box = altDialog();
    const img = box.querySelector("img");
    const input = box.querySelector("textarea");
    const error = box.querySelector(".composer-alt__error");
    const form = box.querySelector("form");
    const url = URL.createObjectURL(file);
    img.src = url;
    input.value = "";
    error.textContent = "";
    return new Promise(function (resolve) {
      function submit(event) {
        event.preventDefault();
        if (!input.value.trim()) {
          error.textContent = "Describe the image first: say what it shows, e.g. “A barista pours a flat white”.";
          input.focus();
          return;
        }
        box.close("ok");
      }
      function closed() {
        form.removeEventListener("submit", submit);
        box.removeEventListener("close", closed);
        URL.revokeObjectURL(url);
        resolve(box.returnValue === "ok" ? input.value.trim() : null);
      }
      box.returnValue = "";
      form.addEventListener("submit", submit);
      box.addEventListener("close", closed);
      box.showModal();
      input.focus();
    });
  }

  async function upload(zone, file) {
    const settings = config();
    const status = zone.querySelector("[data-composer-drop-status]");
    const child = zone.closest("[data-inline-panel-child]");
    const prefix = prefixOf(child);
    if (!/^image\//.test(file.type || "")) {
      status.textContent = "“" + file.name + "” is not an image: drop a JPEG, PNG, GIF or WebP file.";
      return;
    }
    const alt = await askAltText(file);
    if (alt === null) {
      status.textContent = "";
      return;
    }
    const body = new FormData();
    body.append("file", file);
    body.append("alt_text", alt);
    status.textContent = "Uploading “" + file.name + "”…";
    let response = null, answer = null;
    try {
      response = await fetch(settings.upload_url, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" },
      });
      answer = await response.json();
    } catch (error) {
      // no answer, or one that is not ours (e.g. the size limit's page): said below
    }
    if (!response || !response.ok || !answer || answer.error) {
      status.textContent = (answer && answer.error) ||
        (response && response.status === 413
          ? "“" + file.name + "” is too large for the image library: resize or compress it and try again."
          : "The image could not be uploaded. Check your connection and try again.");
      return;
    }
    const root = document.getElementById(prefix + "-media-root");
    if (!root || !root.rootBlock) {
      status.textContent = "The image is in the library, but this post's media could not take " +
        "it: choose it with “Insert a block”.";
      return;
    }
    root.rootBlock.insert({ type: answer.type, value: answer.value, id: null },
                          root.rootBlock.children.length, { animate: false });
    status.textContent = "Added “" + alt + "” to this post and to the brand's image library.";
    schedule(child);
  }

  async function uploadAll(zone, files) {
    for (const file of Array.from(files)) {
      await upload(zone, file);  // one at a time: each asks its alt text
    }
  }

  function dropZone(prefix) {
    const zone = el("div", "composer-drop");
    zone.dataset.composerDrop = "";
    const input = el("input", "composer-drop__file");
    input.type = "file";
    input.accept = "image/*";
    input.multiple = true;
    input.id = prefix + "-composer-file";
    input.setAttribute("aria-hidden", "true");  // the button below opens it
    input.tabIndex = -1;
    const button = el("button", "button button-small button-secondary", "Upload an image");
    button.type = "button";
    button.addEventListener("click", function () { input.click(); });
    input.addEventListener("change", function () {
      const files = Array.from(input.files);
      input.value = "";
      uploadAll(zone, files);
    });
    zone.append(el("span", "composer-drop__text", "Drop images here, or "), button, input,
                el("span", "composer-drop__status", ""));
    zone.lastChild.dataset.composerDropStatus = "";
    zone.lastChild.setAttribute("role", "status");
    zone.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.from(event.dataTransfer.types).indexOf("Files") !== -1) {
        event.preventDefault();
        zone.classList.add("is-over");
      }
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("is-over"); });
    zone.addEventListener("drop", function (event) {
      zone.classList.remove("is-over");
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      uploadAll(zone, event.dataTransfer.files);
    });
    return zone;
  }

  // --- Setting up each open post -------------------------------------------------------------------

  function enhance(child) {
    if (child.dataset.composerReady || child.querySelector("[data-post-closed]")) return;
    const prefix = prefixOf(child);
    if (!/^posts-\d+$/.test(prefix)) return;  // the empty template of a new post
    const copy = field(child, prefix, "copy");
    if (!copy) return;
    child.dataset.composerReady = "1";
    const copyWrapper = wrapperOf(copy);
    const row = el("div", "composer-row");
    copyWrapper.before(row);
    const box = el("div", "composer");
    box.dataset.composer = "";
    const counts = el("p", "composer__counts");
    counts.dataset.composerCounts = "";
    counts.setAttribute("aria-live", "polite");
    const issues = el("ul", "composer__problems");
    issues.dataset.composerProblems = "";
    const previews = el("div", "composer__previews");
    previews.dataset.composerPreviews = "";
    box.append(counts, issues, previews);
    row.append(copyWrapper, box);
    const media = document.getElementById(prefix + "-media-root") ||
      document.getElementById(prefix + "-media");
    const mediaWrapper = media && wrapperOf(media);
    if (mediaWrapper && config() && config().upload_url) mediaWrapper.append(dropZone(prefix));
    update(child);
    warnDeadline(child);
  }

  function enhanceAll(root) {
    root.querySelectorAll("[data-inline-panel-child]").forEach(enhance);
  }

  document.addEventListener("input", function (event) {
    const child = event.target.closest && event.target.closest("[data-inline-panel-child]");
    if (child && child.dataset.composerReady) schedule(child);
  });
  document.addEventListener("change", function (event) {
    const child = event.target.closest && event.target.closest("[data-inline-panel-child]");
    if (child && child.dataset.composerReady) schedule(child);
  });

  document.addEventListener("DOMContentLoaded", function () {
    const forms = document.getElementById("id_posts-FORMS");
    if (!forms || !config()) return;
    enhanceAll(forms);
    // Posts opened or added later, and images chosen or removed in a post's media field.
    new MutationObserver(function (mutations) {
      mutations.forEach(function (mutation) {
        const target = mutation.target.nodeType === 1 ? mutation.target : mutation.target.parentElement;
        if (!target || target.closest("[data-composer], [data-post-deadline]")) return;
        const child = target.closest("[data-inline-panel-child]");
        if (child && child.dataset.composerReady) schedule(child);
        mutation.addedNodes.forEach(function (node) {
          if (node.nodeType !== 1) return;
          if (node.matches("[data-inline-panel-child]")) enhance(node);
          else if (child && !child.dataset.composerReady) enhance(child);
          enhanceAll(node);
        });
      });
    }).observe(forms, { childList: true, subtree: true, attributes: true,
                        attributeFilter: ["src", "class"] });
  });

  // For tests and other scripts: the count the server makes of a text on a network.
  window.campaignComposer = {
    length: function (network, text) {
      const settings = config();
      const rules = settings && settings.networks[network];
      return rules ? length(rules, text) : null;
    },
  };
})();
