"""Train the moderation model from dev.jsonl, and (with --cv) say how well it does there.

    python -m campaigns.conversations.moderation.train          # train and save (seconds)
    python -m campaigns.conversations.moderation.train --cv     # also cross-validate (a minute)

The model is saved under ``var/moderation/`` (see ``model.py``); the engine trains it by itself
when it is missing or stale, so this is only to pay that cost ahead (``bin/setup`` does).

With --cv: 5-fold stratified cross-validation on dev (never on the held-out set): each comment
gets the opinion of a model trained without it. From these out-of-fold probabilities it chooses
the thresholds (the highest risk threshold at which the model alone still escalates at least 98%
of dev's escalations; the lowest hide threshold at which the model's added hides hide at most
0.5% of dev's legitimate comments), prints them next to the ones in ``engine.py`` (which the engine
uses), and scores the model alone and the combined classifier (the rules, which were written
from dev, plus the out-of-fold model) on dev.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from campaigns.conversations.moderation import model as trained
from campaigns.conversations.moderation.engine import ESCALATE_THRESHOLD, HIDE_THRESHOLD, classify
from campaigns.conversations.moderation.evaluation import EVAL_DIR, Result, load, score

ESCALATE_RECALL = 0.98  # the model alone, out of fold
MODEL_FALSE_HIDES = 0.005  # legitimate comments hidden by the model's additions, out of fold


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def choose_thresholds(opinions: dict, labels: dict[str, str]) -> tuple[float, float]:
    at_risk = sorted(opinions[t].probability["escalate"] for t, a in labels.items()
                     if a == "escalate")
    allowed = math.floor((1 - ESCALATE_RECALL) * len(at_risk))
    escalate = math.floor(at_risk[allowed] * 100) / 100
    legitimate = [t for t, a in labels.items() if a in ("reply", "none")]
    for hundredths in range(50, 100):
        hide = hundredths / 100
        hidden = sum(opinions[t].probability["escalate"] < escalate
                     and opinions[t].probability["hide"] >= hide for t in legitimate)
        if hidden <= MODEL_FALSE_HIDES * len(legitimate):
            return escalate, hide
    return escalate, 1.0


def model_alone(opinions: dict, labels: dict[str, str], escalate: float, hide: float) -> dict:
    """The model's own answers out of fold, with the thresholds (no rules)."""
    figures = {"escalate_caught": 0, "escalate": 0, "hide_caught": 0, "hide": 0,
               "legitimate": 0, "legitimate_hidden": 0, "legitimate_escalated": 0,
               "hide_escalated": 0}
    for text, action in labels.items():
        p = opinions[text].probability
        given = "escalate" if p["escalate"] >= escalate else "hide" if p["hide"] >= hide else ""
        if action in ("escalate", "hide"):
            figures[action] += 1
            figures[f"{action}_caught"] += given == action
        if action == "hide":
            figures["hide_escalated"] += given == "escalate"
        if action in ("reply", "none"):
            figures["legitimate"] += 1
            figures["legitimate_hidden"] += given == "hide"
            figures["legitimate_escalated"] += given == "escalate"
    return figures


def combined_out_of_fold(opinions: dict | None = None) -> tuple[Result, Result, dict]:
    """Dev scored by the rules alone and by the rules with the out-of-fold model."""
    opinions = opinions or trained.out_of_fold()
    items = load(EVAL_DIR / "dev.jsonl")
    rules = score(items, lambda text: classify(text, second_opinion=False))
    both = score(items, lambda text: classify(text, opinion=opinions[text]))
    return rules, both, opinions


def summary(name: str, result: Result) -> str:
    return (f"{name}: hide recall {result.recall['hide']:.3f} (precision "
            f"{result.precision['hide']:.3f}), escalate recall {result.recall['escalate']:.3f} "
            f"(precision {result.precision['escalate']:.3f}; {len(result.escalations_missed)} "
            f"missed, {len(result.escalations_hidden)} hidden), reply {result.recall['reply']:.3f}"
            f", none {result.recall['none']:.3f}, legitimate hidden {result.legitimate_hidden} "
            f"of {result.legitimate} ({result.false_hide:.3f})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cv", action="store_true",
                        help="cross-validate on dev, choose the thresholds, print the figures")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    trained.train()
    say(f"model trained from {trained.TRAINING_SET.name} in {time.perf_counter() - began:.1f} s"
          f", saved to {trained.model_path()}")
    if not args.cv:
        return 0
    began = time.perf_counter()
    opinions = trained.out_of_fold()
    labels = {json.loads(line)["text"]: json.loads(line)["action"]
              for line in trained.TRAINING_SET.read_text(encoding="utf-8").splitlines()
              if line.strip()}
    escalate, hide = choose_thresholds(opinions, labels)
    say(f"{trained.FOLDS}-fold stratified cross-validation on dev ({len(labels)} comments), "
          f"{time.perf_counter() - began:.0f} s")
    say(f"thresholds chosen: escalate >= {escalate:.2f} (model alone catches >= "
          f"{ESCALATE_RECALL:.0%} of escalations out of fold), hide >= {hide:.2f} (the model's "
          f"hides hide <= {MODEL_FALSE_HIDES:.1%} of legitimate comments out of fold)")
    say(f"thresholds in use (engine.py): escalate >= {ESCALATE_THRESHOLD:.2f}, "
          f"hide >= {HIDE_THRESHOLD:.2f}"
          + ("" if (escalate, hide) == (ESCALATE_THRESHOLD, HIDE_THRESHOLD)
             else "   <- differ from those chosen: update engine.py"))
    alone = model_alone(opinions, labels, ESCALATE_THRESHOLD, HIDE_THRESHOLD)
    say(f"model alone, out of fold: escalations caught {alone['escalate_caught']} of "
          f"{alone['escalate']} ({alone['escalate_caught'] / alone['escalate']:.3f}); hides "
          f"{alone['hide_caught']} of {alone['hide']} ({alone['hide_caught'] / alone['hide']:.3f})"
          f", {alone['hide_escalated']} of them escalated instead; legitimate comments hidden "
          f"{alone['legitimate_hidden']} of {alone['legitimate']} "
          f"({alone['legitimate_hidden'] / alone['legitimate']:.3f}), escalated "
          f"{alone['legitimate_escalated']} "
          f"({alone['legitimate_escalated'] / alone['legitimate']:.3f})")
    rules, both, _ = combined_out_of_fold(opinions)
    say(summary("rules alone on dev (written from it)", rules))
    say(summary("rules + out-of-fold model on dev", both))
    return 0


if __name__ == "__main__":
    sys.exit(main())
