"""Matching the rules of ``rules.toml`` against a post's copy or alt text."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import regex

RULES_FILE = Path(__file__).with_name("rules.toml")
CATEGORIES = {
    "gendered": "Gendered language",
    "ableist": "Ableist language",
    "race_ethnicity": "Race and ethnicity",
    "age": "Age",
    "sexuality_gender_identity": "Sexuality and gender identity",
    "mental_health": "Mental health and suicide",
    "violence_tragedy": "Violence and tragedy used for marketing",
    "profanity": "Profanity",
    "accessibility": "Accessibility",
    "brand": "Brand terms",
}
SEVERITIES = ("error", "warning", "info")
FIELDS = ("copy", "alt_text")

WORD = regex.compile(r"[\p{L}\p{N}]+(?:['’][\p{L}]+)?")
# Not inside a longer word, handle, hashtag or address: "Scunthorpe", "@crazyhorse", "#nuts".
BEFORE = r"(?<![\p{L}\p{N}@#_/.'’-]|[\p{L}\p{N}][.'’-])"
AFTER = r"(?![\p{L}\p{N}_]|['’-][\p{L}\p{N}])"
VOWELS = set("aeiou")


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    rule: str
    category: str
    severity: str
    message: str
    suggestions: list[str] = field(default_factory=list)
    match: str = ""
    field: str = "copy"

    def as_dict(self) -> dict:
        return asdict(self)


def inflections(word: str) -> set[str]:
    """A word with the endings English puts on it: crazy -> crazier, crippled, spazzing."""
    forms = {word}
    if len(word) < 3 or not word.isalpha():
        return forms
    forms |= {word + "s", word + "es", word + "ed", word + "ing", word + "er", word + "ers",
              word + "est", word + "ly", word + "'s", word + "’s"}
    if word.endswith("e"):
        stem = word[:-1]
        forms |= {word + "d", stem + "ing", word + "r", word + "rs", word + "st", stem + "y"}
    if word.endswith("y") and word[-2] not in VOWELS:
        stem = word[:-1]
        forms |= {stem + "ies", stem + "ied", stem + "ier", stem + "iest", stem + "ily",
                  stem + "iness"}
    if (word[-1] not in VOWELS | set("wxy") and word[-2] in VOWELS
            and word[-3] not in VOWELS):
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing", word + word[-1] + "er",
                  word + word[-1] + "y"}
    return forms


def _phrase_pattern(phrase: str, inflect: bool) -> str:
    words = regex.split(r"[\s]+", phrase.strip().lower())
    parts = []
    for word in words:
        forms = sorted(inflections(word) if inflect else {word}, key=len, reverse=True)
        parts.append("(?:" + "|".join(regex.escape(f).replace("\\-", "[-\\s]?")
                                      .replace("'", "['’]") for f in forms) + ")")
    return r"[\s-]+".join(parts)


@dataclass
class Rule:
    id: str
    category: str
    severity: str
    message: str
    suggestions: list[str]
    pattern: regex.Pattern
    unless: regex.Pattern | None = None
    proper_nouns: bool = True

    @classmethod
    def build(cls, data: dict) -> Rule:
        unknown = set(data) - {"id", "category", "severity", "message", "suggestions", "terms",
                               "exact", "patterns", "unless", "proper_nouns"}
        if unknown:
            raise ValueError(f"rule {data.get('id')}: unknown keys {sorted(unknown)}")
        if data["category"] not in CATEGORIES:
            raise ValueError(f"rule {data['id']}: unknown category {data['category']}")
        if data["severity"] not in SEVERITIES:
            raise ValueError(f"rule {data['id']}: unknown severity {data['severity']}")
        # Longest terms first, so "killer deals" is found whole rather than as "killer".
        terms = sorted([(t, True) for t in data.get("terms", [])]
                       + [(t, False) for t in data.get("exact", [])],
                       key=lambda item: len(item[0]), reverse=True)
        alternatives = ([_phrase_pattern(t, inflect=inflect) for t, inflect in terms]
                        + list(data.get("patterns", [])))
        if not alternatives:
            raise ValueError(f"rule {data['id']}: no terms, exact terms or patterns")
        pattern = regex.compile(BEFORE + "(?:" + "|".join(alternatives) + ")" + AFTER,
                                regex.IGNORECASE | regex.VERSION1)
        unless = data.get("unless") or []
        return cls(
            id=data["id"], category=data["category"], severity=data["severity"],
            message=data["message"], suggestions=list(data.get("suggestions", [])),
            pattern=pattern, proper_nouns=data.get("proper_nouns", True),
            unless=regex.compile(BEFORE + "(?:" + "|".join(
                _phrase_pattern(u, inflect=False) for u in unless) + ")" + AFTER,
                regex.IGNORECASE) if unless else None)


@dataclass
class RuleSet:
    version: str
    rules: list[Rule]
    accessibility: dict

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet(f"{self.version}+{other.version}", self.rules + other.rules,
                       self.accessibility)


@functools.cache
def default_rules() -> RuleSet:
    data = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    return RuleSet(data["version"], [Rule.build(r) for r in data["rule"]],
                   data["accessibility"])


def brand_rules(terms, version: str = "brand") -> RuleSet:
    """Rules from a brand's own terms: (term, replacement or "", note or "") triples. A term with
    a replacement is a preferred-word rule ("say X, not Y"); without one it is banned."""
    rules = []
    for term, replacement, note in terms:
        slug = regex.sub(r"[^\p{L}\p{N}]+", "_", term.strip().lower()).strip("_")
        if not slug:
            continue
        message = (f"The brand says “{replacement}”, not “{{match}}”." if replacement
                   else "“{match}” is on the brand's list of words not to use.")
        if note:
            message += f" {note}"
        rules.append(Rule.build({
            "id": f"brand.{slug}", "category": "brand",
            "severity": "warning" if replacement else "error", "message": message,
            "suggestions": [replacement] if replacement else [], "terms": [term],
            "proper_nouns": False}))
    return RuleSet(version, rules, {})


# --- Matching ----------------------------------------------------------------------------------


def _is_title(word: str) -> bool:
    return word[:1].isupper() and (len(word) == 1 or not word[1:].isupper())


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘(*_")
    return not before or before[-1] in ".!?\n:;•–—-…🔥✨" or not before[-1].isalnum() \
        and before[-1] not in ",&"


def _is_proper_noun(text: str, start: int, end: int) -> bool:
    """Part of a title-case name: "Crazy Horse", "Bloody Mary", "Hell's Kitchen", "Dick Van
    Dyke", "Insane Clown Posse" — but not "Crazy deals today!" at the start of a sentence."""
    words = [m.group() for m in WORD.finditer(text, start, end)]
    if not words or not all(_is_title(w) for w in words):
        return False
    after = WORD.search(text, end)
    if after and text[end:after.start()].strip(" -’'s") == "" and _is_title(after.group()):
        return True
    previous = list(WORD.finditer(text, 0, start))
    if previous:
        last = previous[-1]
        gap = text[last.end():start]
        if gap.strip() == "" and _is_title(last.group()) and not _sentence_start(text,
                                                                                 last.start()):
            return True
    return False


def _rule_findings(rule: Rule, text: str, field: str) -> list[Finding]:
    found = []
    spared = ([(m.start(), m.end()) for m in rule.unless.finditer(text, overlapped=True)]
              if rule.unless else [])
    for match in rule.pattern.finditer(text):
        start, end = match.span()
        if any(s <= start and end <= e for s, e in spared):
            continue
        if rule.proper_nouns and _is_proper_noun(text, start, end):
            continue
        found.append(Finding(start, end, rule.id, rule.category, rule.severity,
                             rule.message.format(match=match.group()), list(rule.suggestions),
                             match.group(), field))
    return found


HASHTAG = regex.compile(r"(?<![\p{L}\p{N}_&])#([\p{L}\p{N}_]{2,})")
CAPS_WORD = regex.compile(r"\b[\p{Lu}][\p{Lu}\p{N}'’]*\b")
EMOJI = regex.compile(r"(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2})"
                      r"[\p{Emoji_Modifier}\uFE0F\u20E3]*(?:\u200D\p{Extended_Pictographic}"
                      r"[\p{Emoji_Modifier}\uFE0F]*)*")
FILENAME = regex.compile(r"^\s*[\w\- ]+\.(?:jpe?g|png|gif|webp|heic|tiff?|bmp|svg)\s*$",
                         regex.IGNORECASE)


@functools.cache
def _segmenter():
    import wordsegment

    wordsegment.load()
    return wordsegment


def _hashtag_words(body: str) -> list[str]:
    """The words of an all-lower (or all-upper) hashtag, if it is several real words."""
    if not body.isalpha() or not (body.islower() or body.isupper()) or len(body) < 6:
        return []
    ws = _segmenter()
    words = ws.segment(body.lower())
    if len(words) < 2 or any(len(w) < 2 and w not in ("a", "i") for w in words):
        return []
    if any(w not in ws.UNIGRAMS for w in words):
        return []
    # a real single word beats its split ("#sustainability", "#breakfast")
    if ws.UNIGRAMS.get(body.lower(), 0) > 1e5:
        return []
    return words


def _accessibility(text: str, field: str, settings: dict) -> list[Finding]:
    messages = settings["messages"]
    found = []

    def add(start, end, rule, message, suggestions=(), severity="warning"):
        found.append(Finding(start, end, f"accessibility.{rule}", "accessibility", severity,
                             message, list(suggestions), text[start:end], field))

    for match in HASHTAG.finditer(text):
        words = _hashtag_words(match.group(1))
        if words:
            camel = "#" + "".join(w.capitalize() for w in words)
            add(match.start(), match.end(), "hashtag_case",
                messages["hashtag_case"].format(match=match.group(), suggestion=camel), [camel])

    run: list[regex.Match] = []
    minimum = settings["caps_min_words"]

    def close_run():
        letters = sum(sum(c.isalpha() for c in m.group()) for m in run)
        if len(run) >= minimum and letters >= minimum * 2:
            start, end = run[0].start(), run[-1].end()
            add(start, end, "all_caps", messages["all_caps"].format(match=text[start:end]),
                [text[start:end].capitalize()])

    for match in WORD.finditer(text):
        word = match.group()
        is_caps = word.isupper() and sum(c.isalpha() for c in word) >= 1
        if is_caps and run and text[run[-1].end():match.start()].strip(" ,!?'’-&") == "":
            run.append(match)
        elif is_caps:
            close_run()
            run = [match]
        else:
            close_run()
            run = []
    close_run()

    emoji = list(EMOJI.finditer(text))
    group: list[regex.Match] = []
    for match in emoji + [None]:
        if match is not None and group and text[group[-1].end():match.start()].strip() == "":
            group.append(match)
            continue
        if len(group) >= settings["emoji_min_run"]:
            add(group[0].start(), group[-1].end(), "emoji_wall",
                messages["emoji_wall"].format(count=len(group)), ["Keep one or two emoji"])
        group = [match] if match is not None else []

    if field == "alt_text":
        stripped = text.strip()
        lowered = stripped.lower().rstrip(".")
        lead = next((p for p in sorted(settings["weak_alt_lead_ins"], key=len, reverse=True)
                     if lowered.startswith(p + " ") or lowered == p), None)
        offset = len(text) - len(text.lstrip())
        if FILENAME.match(text):
            add(offset, offset + len(stripped), "alt_filename", messages["alt_filename"],
                severity="error")
        elif lowered in settings["weak_alt_whole"]:
            add(offset, offset + len(stripped), "alt_empty",
                messages["alt_empty"].format(match=stripped), severity="error")
        elif lead:
            add(offset, offset + len(lead), "alt_lead_in", messages["alt_lead_in"],
                [stripped[len(lead):].strip().capitalize()])
    return found


def lint(text: str, *, field: str = "copy", rules: RuleSet | None = None) -> list[Finding]:
    """Every finding in ``text`` (a post's copy, or an image's alt text), in text order. Where
    two findings overlap, the longer (more specific) one is kept."""
    if field not in FIELDS:
        raise ValueError(f"field must be one of {FIELDS}")
    rules = rules or default_rules()
    found = [f for rule in rules.rules for f in _rule_findings(rule, text, field)]
    found += _accessibility(text, field, rules.accessibility or default_rules().accessibility)
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (-(f.end - f.start), f.start)):
        if finding.category != "accessibility" and any(
                k.category != "accessibility" and k.start < finding.end and finding.start < k.end
                for k in kept):
            continue
        kept.append(finding)
    return sorted(kept, key=lambda f: (f.start, f.end, f.rule))
