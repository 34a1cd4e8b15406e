"""Scoring the classifier on a labelled set of comments (``eval/*.jsonl``).

Each line is ``{"id", "text", "action", "categories", "note"?}``. Per action: recall (the share
of comments labelled with it that got it) and precision (the share of comments given it that
are labelled with it); the share of legitimate comments (labelled reply or none) that would be
hidden; escalations missed, and escalations hidden; how many escalations were urgent or quiet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from approvals.sensitivity.evaluation import EVAL_DIR as SENSITIVITY_EVAL
from approvals.sensitivity.evaluation import load as load_posts
from campaigns.conversations.moderation.engine import ACTIONS, CATEGORIES, HIDE, classify

EVAL_DIR = Path(__file__).with_name("eval")


def brand_posts() -> tuple[list[str], list[str]]:
    """The sensitivity linter's brand posts (its dev and held-out sets: everyday brand copy and
    alt text, not written for moderation), as (texts with nothing to flag, texts whose labels
    flag a word: a slur, "man the booth", "whitelist"): a check that the classifier does not
    hide everyday text."""
    clean: list[str] = []
    flagged: list[str] = []
    for name in ("dev", "heldout"):
        for item in load_posts(SENSITIVITY_EVAL / f"{name}.jsonl"):
            marked = {span.field for span in item.spans}
            for field_name, text in item.texts.items():
                (flagged if field_name in marked else clean).append(text)
    return clean, flagged


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    action: str
    categories: tuple[str, ...]
    note: str = ""


def load(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        if data["action"] not in ACTIONS or not set(data["categories"]) <= set(CATEGORIES):
            raise ValueError(f"{path.name} line {number}: unknown action or category")
        items.append(Item(data["id"], data["text"], data["action"], tuple(data["categories"]),
                          data.get("note", "")))
    return items


@dataclass
class Result:
    items: int
    recall: dict[str, float] = field(default_factory=dict)
    precision: dict[str, float] = field(default_factory=dict)
    labelled: dict[str, int] = field(default_factory=dict)
    predicted: dict[str, int] = field(default_factory=dict)
    legitimate: int = 0
    legitimate_hidden: int = 0
    escalations_missed: list[str] = field(default_factory=list)
    escalations_hidden: list[str] = field(default_factory=list)
    # Comments escalated, by (labelled escalate?, urgent?): urgent ones are emailed, quiet ones
    # only pinned.
    escalated: dict[tuple[bool, bool], int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def escalated_wrongly(self) -> tuple[int, int]:
        """Comments not about a person at risk that were escalated: all, and the quiet ones."""
        return (self.escalated.get((False, True), 0) + self.escalated.get((False, False), 0),
                self.escalated.get((False, False), 0))

    @property
    def false_hide(self) -> float:
        return self.legitimate_hidden / self.legitimate if self.legitimate else 0.0


def score(items: list[Item], classifier=classify) -> Result:
    result = Result(items=len(items))
    correct = dict.fromkeys(ACTIONS, 0)
    result.labelled = dict.fromkeys(ACTIONS, 0)
    result.predicted = dict.fromkeys(ACTIONS, 0)
    for item in items:
        verdict = classifier(item.text)
        result.labelled[item.action] += 1
        result.predicted[verdict.action] += 1
        if verdict.action == item.action:
            correct[item.action] += 1
        else:
            result.errors.append(f"{item.id} {item.action} -> {verdict.action}: {item.text}"
                                 f"  [{verdict.reason}]")
        if item.action in ("reply", "none"):
            result.legitimate += 1
            result.legitimate_hidden += verdict.action == HIDE
        if verdict.action == "escalate":
            key = (item.action == "escalate", verdict.urgent)
            result.escalated[key] = result.escalated.get(key, 0) + 1
        if item.action == "escalate" and verdict.action != "escalate":
            result.escalations_missed.append(item.id)
            if verdict.action == HIDE:
                result.escalations_hidden.append(item.id)
    for action in ACTIONS:
        labelled, predicted = result.labelled[action], result.predicted[action]
        result.recall[action] = correct[action] / labelled if labelled else 1.0
        result.precision[action] = correct[action] / predicted if predicted else 1.0
    return result
