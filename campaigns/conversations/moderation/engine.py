"""Classifying a comment under a brand's post: hide, escalate, reply or nothing.

Rules are data (``rules.toml``); this module knows what the data cannot say by itself: where a
sentence ends, whether a word is aimed at someone, whether an identity is named by the person it
describes ("as a queer customer"), that a person at risk is never hidden, and a brand's own words
and trusted authors.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import regex

RULES_FILE = Path(__file__).with_name("rules.toml")
log = logging.getLogger(__name__)

ESCALATE, HIDE, REPLY, NONE = "escalate", "hide", "reply", "none"
ACTIONS = (HIDE, ESCALATE, REPLY, NONE)
# Every category and the action it leads to, in the order verdicts list them.
CATEGORIES = {
    "abuse": HIDE,
    "hate": HIDE,
    "threat": HIDE,
    "sexual_harassment": HIDE,
    "doxxing": HIDE,
    "spam": HIDE,
    "scam": HIDE,
    "self_harm": ESCALATE,
    "domestic_violence": ESCALATE,
    "product_injury": ESCALATE,
    "medical_emergency": ESCALATE,
    "question": REPLY,
    "complaint": REPLY,
    "criticism": REPLY,
    "praise": NONE,
    "chatter": NONE,
}
# Which action wins when a comment has several: a person at risk is never hidden.
PRECEDENCE = (ESCALATE, HIDE, REPLY, NONE)

# Symbols people hide letters behind, inside a word: b!tch, @ss, $hit, sh1t, n00b. (Stars,
# "f*ck", are filled in from the `disguised` words of rules.toml: see _unstar.)
DISGUISES = str.maketrans({"@": "a", "4": "a", "3": "e", "!": "i", "1": "i", "0": "o", "$": "s",
                           "5": "s"})
DISGUISED_WORD = regex.compile(r"(?<![\p{L}\p{N}@$!*])(?=[\p{L}@$!*0-9]*[@$!*0-9][\p{L}*])"
                               r"[\p{L}@$*][\p{L}@$!*0-9]*[\p{L}*]")
SELF_DESCRIPTION = regex.compile(
    r"(?:\bas\s+(?:an?\s+)?|\bi\s*'?\s*a?m\s+(?:an?\s+)?|\bwe\s*'?\s*(?:re|are)\s+|\bproud\s+"
    r"|\bfellow\s+|\bmy\s+|\bour\s+|\bbeing\s+(?:an?\s+)?)"
    # Up to two words between ("as a proud gay dad"), but not a preposition: "being overrun by
    # these people" is not someone naming who they are.
    r"(?:(?!(?:by|of|to|with|from|against|at|for|about|on)\s)[\p{L}-]+\s+){0,2}$",
    regex.IGNORECASE)
SENTENCE_END = regex.compile(r"[.!?;]+(?=\s|$)|\n+|\s[-–—]\s")
PRAISE = regex.compile(
    r"\b(?:love[ds]?|loving|amazing|best|great|brilliant|lovely|thanks?|thank\s+you|delicious|"
    r"beautiful|obsessed|favourite|favorite|legends?|slaps|fire|good|kind|helpful|stars|"
    r"sick|wicked|to\s+die\s+for|gorgeous|perfect|parfait|merci|incredible|welcome|proud|"
    r"game\s+changer|well\s+done|comfy|yes|tasty|fab|fabulous|goes\s+hard|bomb|killer|"
    r"insanely|beast)\b|😍|🙌|❤️|💕|👍|🔥|🙏",
    regex.IGNORECASE)


# The trained model's thresholds (see _second_opinion), chosen by ``python -m campaigns.
# conversations.moderation.train --cv`` from out-of-fold probabilities on the training sets:
# - ESCALATE_AT: low, so that a person at risk is not missed for want of certainty: the highest
#   at which the combined classifier misses at most 0.5% of the escalations out of fold (each
#   author's comments scored by a model trained without that author).
# - URGENT_AT: below it, a model-only escalation is a quiet one: pinned at the top of the inbox,
#   never hidden or auto-answered, but nobody is emailed (out of fold, most of them are everyday
#   comments); from it (at least 80% of the model's own escalations there are people at risk),
#   or when a rule matched, the on-call people are emailed at once.
# - HIDE_AT: the lowest at which the model's added hides hide at most 1% of legitimate comments
#   out of fold (a third of the 3% ceiling: a margin for new wording) and at most 3% of brand
#   copy out of fold (``train.choose``).
ESCALATE_AT = 0.07
URGENT_AT = 0.30
HIDE_AT = 0.68


@dataclass(frozen=True)
class Opinion:
    """The trained model's view of one comment (``model.py``): each action's probability, and
    each action's likeliest category with its probability."""

    probability: dict[str, float]
    category: dict[str, tuple[str, float]]
    source: str = ""  # the model's fingerprint, kept with what it decided


# The model, loaded once per process: model.py registers it (use_model) when the package loads.
_model: Callable | None = None


def use_model(loader: Callable | None) -> None:
    """Where ``classify`` gets its second opinion: a function returning the model (None: the
    rules alone)."""
    global _model
    _model = loader


@dataclass(frozen=True)
class Verdict:
    """What to do with a comment (``action``), why (``categories``, from ``CATEGORIES``), and
    the reason in plain words naming what matched; ``version`` is the rules' version (and the
    model's), to keep with an automatic action. ``urgent`` (escalations only): the on-call people
    are emailed at once; a quiet escalation (the model alone, not sure) is pinned for a look
    without an email."""

    action: str
    categories: list[str]
    reason: str
    matches: dict[str, list[str]] = field(default_factory=dict, compare=False)
    version: str = field(default="", compare=False)
    urgent: bool = field(default=False, compare=False)

    def as_dict(self) -> dict:
        return {"action": self.action, "categories": list(self.categories),
                "reason": self.reason}


def inflections(word: str) -> set[str]:
    """A word with the endings English puts on it: idiot -> idiots, burn -> burned."""
    forms = {word}
    if len(word) < 3 or not word.isalpha():
        return forms
    forms |= {word + "s", word + "z", word + "es", word + "ed", word + "ing", word + "'s"}
    if word.endswith("e"):
        forms |= {word + "d", word[:-1] + "ing"}
    if word.endswith("y") and word[-2] not in "aeiou":
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    return forms


def _letters(term: str) -> str:
    """A term as a pattern: apostrophes optional ("dont"), spaces or hyphens between words."""
    out = []
    for char in term:
        if char == "'":
            out.append("'?")
        elif char in " -":
            out.append(r"[\s-]+")
        else:
            out.append(regex.escape(char))
    return "".join(out)


def _term_pattern(term: str, inflect: bool) -> str:
    term = term.strip().lower().replace("’", "'")
    words = term.split(" ")
    if inflect:
        *head, last = words
        forms = sorted(inflections(last), key=len, reverse=True)
        body = "".join(_letters(w + " ") for w in head) + "(?:" + "|".join(
            _letters(f) for f in forms) + ")"
    else:
        body = _letters(term)
    return body


BEFORE = r"(?<![\p{L}\p{N}_*])"
AFTER = r"(?![\p{L}\p{N}_*]|'[\p{L}])"


def _compile(data: dict, prefix: str = "") -> regex.Pattern | None:
    terms = sorted([(t, True) for t in data.get(prefix + "terms", [])]
                   + [(t, False) for t in data.get(prefix + "exact", [])],
                   key=lambda item: len(item[0]), reverse=True)
    # Terms that start and end with a letter are matched as whole words, under one boundary
    # check (one per position, not one per term: much faster).
    words = [_term_pattern(t, i) for t, i in terms if t[:1].isalnum() and t[-1:].isalnum()]
    others = [_term_pattern(t, i) for t, i in terms if not (t[:1].isalnum() and t[-1:].isalnum())]
    alternatives = ([BEFORE + "(?:" + "|".join(words) + ")" + AFTER] if words else []) + others
    alternatives += list(data.get(prefix + "patterns", []))
    if not alternatives:
        return None
    return regex.compile("|".join(f"(?:{a})" for a in alternatives), regex.IGNORECASE)


@functools.cache
def _vocabulary() -> dict[int, list[str]]:
    """The words people hide behind stars (``disguised`` in rules.toml, and the slurs of the
    rule ``hate.slur``), with their inflections, by length: what "f*ck", "f***ing", "tw*ts" or
    "p*kis" may stand for."""
    data = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    slurs = next(rule for rule in data["rule"] if rule["id"] == "hate.slur")["terms"]
    words: set[str] = set()
    for word in (*data["disguised"], *(s for s in slurs if " " not in s)):
        words |= inflections(word.lower())
    by_length: dict[int, list[str]] = {}
    for word in sorted(words):
        by_length.setdefault(len(word), []).append(word)
    return by_length


def _unstar(word: str) -> str:
    """A word with hidden letters written out, when exactly one rule word fits it. It starts
    with a letter, @, $ or *, ends with a letter or *: "4k", "10x" and "wow!" are left alone."""
    plain = word.lower().translate(DISGUISES)
    if "*" not in plain:
        return plain if plain.isalpha() else word
    shape = regex.compile(regex.escape(plain).replace(r"\*", "[a-z]"))
    fits = [w for w in _vocabulary().get(len(word), []) if shape.fullmatch(w)]
    return fits[0] if len(fits) == 1 else word


RULE_KEYS = {"id", "category", "reason", "terms", "exact", "patterns", "with_terms", "with_exact",
             "with_patterns", "scope", "unless", "unless_comment", "self_description",
             "needs_target", "weak"}


@dataclass
class Rule:
    id: str
    category: str
    reason: str
    pattern: regex.Pattern
    together: regex.Pattern | None = None
    scope: str = "sentence"
    unless: regex.Pattern | None = None
    unless_comment: regex.Pattern | None = None
    self_description: bool = False
    needs_target: bool = False
    # A weak rule is a hint of risk in words that often mean nothing ("bleeding", "hospital",
    # "goodbye"): it escalates only a comment that no hide rule matched, so a threat that names a
    # hospital is still hidden, and a rude comment is not escalated for one such word.
    weak: bool = False

    @classmethod
    def build(cls, data: dict) -> Rule:
        unknown = set(data) - RULE_KEYS
        if unknown:
            raise ValueError(f"rule {data.get('id')}: unknown keys {sorted(unknown)}")
        if data.get("category") not in CATEGORIES:
            raise ValueError(f"rule {data.get('id')}: unknown category {data.get('category')}; "
                             f"use one of {', '.join(CATEGORIES)}")
        if data.get("scope", "sentence") not in ("sentence", "comment"):
            raise ValueError(f"rule {data['id']}: scope is 'sentence' or 'comment'")
        pattern = _compile(data)
        if pattern is None:
            raise ValueError(f"rule {data['id']}: no terms, exact terms or patterns")
        unless = data.get("unless") or []
        return cls(
            id=data["id"], category=data["category"],
            reason=data.get("reason", data["category"].replace("_", " ") + ": “{match}”"),
            pattern=pattern, together=_compile(data, "with_"),
            scope=data.get("scope", "sentence"),
            unless=_compile({"exact": unless}) if unless else None,
            unless_comment=_compile({"exact": data.get("unless_comment") or []}),
            self_description=data.get("self_description", False),
            needs_target=data.get("needs_target", False),
            weak=data.get("weak", False))


@dataclass
class RuleSet:
    version: str
    rules: list[Rule]
    targets: regex.Pattern


@functools.cache
def default_rules() -> RuleSet:
    data = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    return RuleSet(data["version"], [Rule.build(r) for r in data["rule"]],
                   _compile({"exact": data["targets"]}))


@functools.lru_cache(maxsize=4)
def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    """Where each sentence of the comment starts and ends (cached: every rule asks)."""
    spans, start = [], 0
    for end_mark in SENTENCE_END.finditer(text):
        spans.append((start, end_mark.start()))
        start = end_mark.end()
    spans.append((start, len(text)))
    return tuple((s, e) for s, e in spans if text[s:e].strip())


def _rule_matches(rule: Rule, text: str, targets: regex.Pattern) -> list[str]:
    spared: list[tuple[int, int]] | None = None  # the rule's `unless` phrases, found when needed
    if rule.unless_comment is not None and rule.unless_comment.search(text):
        return []
    if rule.needs_target and not targets.search(text) and len(text.split()) > 3:
        return []
    scopes = ((0, len(text)),) if rule.scope == "comment" else _sentences(text)
    found = []
    for start, end in scopes:
        together = rule.together.search(text, start, end) if rule.together else None
        if rule.together is not None and together is None:
            continue
        for match in rule.pattern.finditer(text, start, end):
            if not match.group().strip():
                continue
            if spared is None:
                spared = ([m.span() for m in rule.unless.finditer(text, overlapped=True)]
                          if rule.unless else [])
            if any(s <= match.start() and match.end() <= e for s, e in spared):
                continue
            if rule.self_description and SELF_DESCRIPTION.search(text, start, match.start()):
                continue
            words = match.group().strip()
            if together is not None and together.group().strip().lower() not in words.lower():
                # Both halves of the rule, in the order they are written: "husband … hits me".
                pair = sorted([match, together], key=lambda m: m.start())
                words = f"{pair[0].group().strip()} … {pair[1].group().strip()}"
            found.append(words)
    return found


SPACED_LETTERS = regex.compile(r"(?<![\p{L}\p{N}])\p{L}(?:[ .]\p{L}){3,}(?![\p{L}\p{N}])")


def _unspace(letters: str) -> str:
    """Letters spaced out to hide a word ("p r i c k", "a p r i c k"), written together when
    they spell a rule word (with "a", "u" or "i" in front left alone), keeping the length."""
    plain = regex.sub(r"[ .]", "", letters).lower()
    words = {w for ws in _vocabulary().values() for w in ws}
    for skip in (0, 1):
        if plain[skip:] in words:
            head = letters[:2 * skip]
            return (head + plain[skip:]).ljust(len(letters))
    return letters


def _normalise(text: str) -> str:
    """The comment with curly quotes made plain and disguised words written out ("f*ck",
    "b!tch", "n1gger", "p r i c k"), keeping its length."""
    text = text.translate(str.maketrans("’‘“”", "''\"\""))
    text = SPACED_LETTERS.sub(lambda m: _unspace(m.group()), text)
    return DISGUISED_WORD.sub(lambda m: _unstar(m.group()), text)


def _brand_patterns(brand_words: Mapping[str, Iterable[str]] | None) -> dict[str, regex.Pattern]:
    patterns = {}
    for key, words in (brand_words or {}).items():
        if key not in ACTIONS and key not in CATEGORIES:
            raise ValueError(f"brand words are given per action ({', '.join(ACTIONS)}) or per "
                             f"category ({', '.join(CATEGORIES)}), not “{key}”")
        words = [w for w in (w.strip() for w in words) if w]
        if words:
            patterns[key] = _compile({"exact": words})
    return patterns


def _prepared(text: str, brand: dict[str, regex.Pattern]) -> str:
    """The comment as the rules and the model read it: normalised, and the brand's own
    harmless words blanked out."""
    text = _normalise(text)
    if NONE in brand:
        text = brand[NONE].sub(lambda m: " " * len(m.group()), text)
    return text


def _opinions(texts: list[str]) -> list[Opinion | None]:
    """The model's opinions, or none when it cannot give them (its files unreadable, training
    failed): the rules alone then, and the error in the log, rather than no verdict at all."""
    try:
        return _model().opinions(texts)
    except Exception:  # noqa: BLE001 - moderation goes on with the rules; the log says why
        log.exception("moderation: the trained model failed; classifying with the rules alone")
        return [None] * len(texts)


def classify_many(texts: list[str], *, brand_words: Mapping[str, Iterable[str]] | None = None,
                  trusted: Iterable[bool] | None = None) -> list[Verdict]:
    """``classify`` for several comments of one brand (a page of a poll): the same verdicts,
    with the model asked once for all of them (its sentence encoder works in batches: about
    half the time per comment)."""
    trusted = list(trusted) if trusted is not None else [False] * len(texts)
    opinions: list[Opinion | None] = [None] * len(texts)
    if _model is not None and texts:
        brand = _brand_patterns(brand_words)
        opinions = _opinions([_prepared(text, brand) for text in texts])
    return [classify(text, brand_words=brand_words, trusted=trust, opinion=opinion)
            for text, trust, opinion in zip(texts, trusted, opinions, strict=True)]


def classify(text: str, *, brand_words: Mapping[str, Iterable[str]] | None = None,
             trusted: bool = False, rules: RuleSet | None = None, second_opinion: bool = True,
             opinion: Opinion | None = None,
             thresholds: tuple[float, float, float] | None = None) -> Verdict:
    """What to do with one comment under a brand's post.

    ``brand_words`` maps an action (hide, escalate, reply, none) or a category to the brand's
    own words: a brand's hide or escalate word acts like a rule; its ``none`` words are fine in
    this brand's threads (a product called "Killer Bean") and are ignored by the rules.
    ``trusted`` authors (the brand's own people, partners) are never hidden automatically; what
    would have hidden them goes to a person as a reply instead. Escalation is never undone.

    The trained model (``model.py``) gives a second opinion, combined so that safety wins (see
    ``_second_opinion``); ``second_opinion=False`` asks the rules alone, and ``opinion`` gives
    the model's opinion ready-made (an out-of-fold one, when cross-validating) and
    ``thresholds`` the model's (escalate, urgent, hide) thresholds to weigh it by, when not
    those in use.
    """
    if not isinstance(text, str):
        raise TypeError("classify() takes the comment's text as a string")
    rules = rules or default_rules()
    brand = _brand_patterns(brand_words)
    text = _prepared(text, brand)

    matches: dict[str, list[str]] = {}
    reasons: dict[str, list[str]] = {}
    strong = [rule for rule in rules.rules if not rule.weak]
    for rule in strong + [rule for rule in rules.rules if rule.weak]:
        if rule.weak and any(CATEGORIES[c] in (HIDE, ESCALATE) for c in matches):
            break  # hidden or escalated already: a hint adds nothing
        for found in _rule_matches(rule, text, rules.targets):
            if found.lower() not in (m.lower() for m in matches.get(rule.category, [])):
                matches.setdefault(rule.category, []).append(found)
                reasons.setdefault(rule.category, []).append(rule.reason.format(match=found))
    brand_actions: dict[str, list[str]] = {}
    for key, pattern in brand.items():
        if key == NONE:
            continue
        for match in pattern.finditer(text):
            action = CATEGORIES.get(key, key)
            brand_actions.setdefault(action, []).append(match.group())
            if key in CATEGORIES:
                matches.setdefault(key, []).append(match.group())
            reasons.setdefault(key, []).append(f"the brand's word “{match.group()}”")

    categories = [c for c in CATEGORIES if c in matches]
    if not any(CATEGORIES[c] != NONE for c in categories) and not brand_actions:
        categories = ["praise" if PRAISE.search(text) else "chatter"]
    wanted = {CATEGORIES[c] for c in categories} | set(brand_actions)
    action = next(a for a in PRECEDENCE if a in wanted)
    urgent = action == ESCALATE
    version = rules.version
    if opinion is None and second_opinion and _model is not None:
        opinion = _opinions([text])[0]
    if opinion is not None and second_opinion:
        second = _second_opinion(action, opinion, thresholds)
        if second is not None:
            action, category, said, urgent = second
            wanted.add(action)
            if category not in categories:
                categories = [c for c in CATEGORIES if c in {*categories, category}]
            if action != NONE:
                categories = [c for c in categories if CATEGORIES[c] != NONE]
            reasons.setdefault(category, []).append(said)
            version = f"{rules.version}+model:{opinion.source}"

    def explain(kind: str) -> str:
        parts = [r for key, rs in reasons.items() if CATEGORIES.get(key, key) == kind for r in rs]
        return "; ".join(dict.fromkeys(parts))

    if action == ESCALATE:
        reason = (f"Escalated to a person: {explain(ESCALATE)}." if urgent else
                  f"Pinned for a look (nobody emailed: the model alone, not sure): "
                  f"{explain(ESCALATE)}.")
        if HIDE in wanted:
            reason += f" Not hidden, although it also has {explain(HIDE)}."
    elif action == HIDE and trusted:
        action = REPLY
        reason = (f"From a trusted author, so not hidden; a person should look: "
                  f"{explain(HIDE)}.")
    elif action == HIDE:
        reason = f"Hidden: {explain(HIDE)}."
    elif action == REPLY:
        reason = f"Needs a reply: {explain(REPLY)}."
    else:
        reason = ("Nothing to act on: " + " and ".join(c for c in categories) + "; no rule "
                  "matched.")
    return Verdict(action, categories, reason, matches, version, urgent)


def _second_opinion(action: str, opinion: Opinion,
                    thresholds: tuple[float, float, float] | None = None,
                    ) -> tuple[str, str, str, bool] | None:
    """What the trained model changes in the rules' answer, so that safety wins: the action,
    the model's category for it, the reason, and whether an escalation is urgent; None when the
    rules' answer stands. ``thresholds``: (escalate, urgent, hide), by default ``ESCALATE_AT``,
    ``URGENT_AT`` and ``HIDE_AT`` above (``train --cv`` tries others).

    (a) The rules' escalation stays (urgent). (b) A risk probability at the escalate threshold
    or above escalates, even what the rules hid or let pass: a person at risk is never hidden;
    urgent from the urgent threshold. (c) The rules' hide stays; the model adds a hide at the
    hide threshold, only with no sign of risk. (d) Otherwise the rules' reply stands; when no
    rule matched at all (the rules' answer is none), the model says whether it needs a reply.
    """
    escalate_at, urgent_at, hide_at = thresholds or (ESCALATE_AT, URGENT_AT, HIDE_AT)
    if action == ESCALATE:
        return None
    p = opinion.probability
    if p[ESCALATE] >= escalate_at:
        return ESCALATE, *_said(opinion, ESCALATE), p[ESCALATE] >= urgent_at
    if action == HIDE:
        return None
    if p[HIDE] >= hide_at:
        return HIDE, *_said(opinion, HIDE), False
    if action == NONE and p[REPLY] > p[NONE]:
        return REPLY, *_said(opinion, REPLY), False
    return None


def _said(opinion: Opinion, action: str) -> tuple[str, str]:
    category, _ = opinion.category[action]
    return category, (f"model: likely {category.replace('_', ' ')} "
                      f"(p={opinion.probability[action]:.2f})")
