"""Scoring the linter on a labelled set of posts (``eval/*.jsonl``).

Each line is ``{"id", "text", "alt_text"?}`` where the spans a reviewer would raise are marked
inline as ``[[span|category]]``. A finding counts as found when it overlaps a marked span of the
same field; precision is the share of findings that do, recall the share of marked spans found.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from approvals.sensitivity.engine import CATEGORIES, lint

EVAL_DIR = Path(__file__).with_name("eval")
MARK = re.compile(r"\[\[(.+?)\|([a-z_]+)\]\]")


@dataclass
class Span:
    field: str
    start: int
    end: int
    category: str


@dataclass
class Item:
    id: str
    texts: dict[str, str]
    spans: list[Span] = field(default_factory=list)


def unmark(marked: str, field_name: str) -> tuple[str, list[Span]]:
    plain, spans, pos = [], [], 0
    length = 0
    for match in MARK.finditer(marked):
        before = marked[pos:match.start()]
        plain.append(before)
        length += len(before)
        text, category = match.group(1), match.group(2)
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r} in {marked!r}")
        spans.append(Span(field_name, length, length + len(text), category))
        plain.append(text)
        length += len(text)
        pos = match.end()
    plain.append(marked[pos:])
    return "".join(plain), spans


def load(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        item = Item(data.get("id") or f"{path.stem}:{number}", {})
        for name, key in (("copy", "text"), ("alt_text", "alt_text")):
            if data.get(key) is not None:
                item.texts[name], spans = unmark(data[key], name)
                item.spans += spans
        items.append(item)
    return items


@dataclass
class Score:
    expected: int = 0
    predicted: int = 0
    found: int = 0  # expected spans overlapped by a finding
    correct: int = 0  # findings overlapping an expected span
    per_category: Counter = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0


def score(items: list[Item], linter=lint) -> Score:
    result = Score()
    for item in items:
        findings = [f for name, text in item.texts.items() for f in linter(text, field=name)]
        result.expected += len(item.spans)
        result.predicted += len(findings)
        for span in item.spans:
            hit = any(f.field == span.field and f.start < span.end and span.start < f.end
                      for f in findings)
            result.found += hit
            result.per_category[(span.category, "expected")] += 1
            result.per_category[(span.category, "found")] += hit
            if not hit:
                text = item.texts[span.field]
                result.misses.append(f"{item.id} [{span.category}] "
                                     f"{text[span.start:span.end]!r} in {text!r}")
        for finding in findings:
            ok = any(finding.field == s.field and finding.start < s.end and s.start < finding.end
                     for s in item.spans)
            result.correct += ok
            result.per_category[(finding.category, "predicted")] += 1
            result.per_category[(finding.category, "correct")] += ok
            if not ok:
                result.false_alarms.append(f"{item.id} [{finding.rule}] {finding.match!r} in "
                                           f"{item.texts[finding.field]!r}")
    return result
