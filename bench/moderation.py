"""Benchmark: the moderation classifier on the labelled comments (issue 19, safe spaces).

    python bench/moderation.py [--show-errors]

Scores ``campaigns/conversations/moderation/eval/dev.jsonl`` (the rules were written from it;
the model is trained from it and the other training sets, ``model.TRAINING_SETS``) and
``heldout.jsonl`` (written blind, never trained or tuned on) separately, by the rules alone
and by the rules with the trained model (what ``classify`` does): per action recall and
precision, the share of legitimate comments (labelled reply or none) that would be hidden, the
escalations missed and any escalation hidden, and how many escalations were urgent (emailed) or
quiet (pinned for a look). As a third, independent check of false hides, the
brand posts of the sensitivity linter's sets (546 texts of everyday brand copy and alt text, not
written for moderation), counted apart: the copy with nothing to flag, and the copy whose labels
flag a word (a slur, "man the booth", "whitelist"), which a comment might be hidden for. Also the
classifier's speed. Last line,
on the held-out set:

    moderation hide_recall=<x> escalate_recall=<y> false_hide=<z>

When ``heldout.jsonl`` is absent (a branch before the integrator adds it) the benchmark says
"held-out set missing", scores dev only, and the last line gives dev's figures, marked
``set=dev`` so it is never mistaken for the held-out score.

Targets: hide recall at least 0.9, every escalation caught and none hidden, false hides at most
3%. --show-errors lists the dev set's wrong answers (never the held-out set's: reading them is
how a held-out set stops being one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings.dev")

from campaigns.conversations.moderation import ACTIONS, classify, default_rules  # noqa: E402
from campaigns.conversations.moderation.evaluation import (  # noqa: E402
    EVAL_DIR,
    Result,
    brand_posts,
    load,
    score,
)
from campaigns.conversations.moderation.model import default_model  # noqa: E402


def report(name: str, result: Result, show_errors: bool) -> None:
    print(f"{name}: {result.items} comments")
    for action in ACTIONS:
        print(f"    {action:9s} labelled {result.labelled[action]:3d} "
              f"recall {result.recall[action]:.3f}   given {result.predicted[action]:3d} "
              f"precision {result.precision[action]:.3f}")
    print(f"    legitimate comments hidden: {result.legitimate_hidden} of {result.legitimate} "
          f"(false_hide {result.false_hide:.3f})")
    print(f"    escalations missed: {len(result.escalations_missed)} "
          f"{' '.join(result.escalations_missed)}")
    print(f"    escalations hidden: {len(result.escalations_hidden)} "
          f"{' '.join(result.escalations_hidden)}")
    if show_errors:
        for line in result.errors:
            print("    WRONG", line)


def urgency(result: Result) -> str:
    """Of the comments escalated: how many urgent (emailed) and quiet (pinned only), for
    people at risk and for the rest."""
    counts = result.escalated
    return (f"    escalated: people at risk {counts.get((True, True), 0)} urgent + "
            f"{counts.get((True, False), 0)} quiet; others {counts.get((False, True), 0)} "
            f"urgent + {counts.get((False, False), 0)} quiet")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show-errors", action="store_true",
                        help="list wrong answers (dev set only)")
    args = parser.parse_args(argv)
    sets = {name: load(EVAL_DIR / f"{name}.jsonl") for name in ("dev", "heldout")
            if (EVAL_DIR / f"{name}.jsonl").exists()}
    print(f"rules version {default_rules().version}")
    if "heldout" not in sets:
        print(f"held-out set missing ({EVAL_DIR / 'heldout.jsonl'}): scoring dev only")

    default_model()  # trained first if missing (var/moderation/)
    classify("warm up")  # rules compiled, encoder loaded
    rules_alone = {name: score(items, lambda text: classify(text, second_opinion=False))
                   for name, items in sets.items()}
    began = time.perf_counter()
    results = {name: score(items) for name, items in sets.items()}
    elapsed = time.perf_counter() - began
    count = sum(len(items) for items in sets.values())
    print(f"speed: {count} comments in {elapsed * 1000:.0f} ms "
          f"({elapsed / count * 1000:.2f} ms per comment, rules and model)")
    report("dev, rules alone", rules_alone["dev"], False)
    report("dev, rules and model (trained on it)", results["dev"], args.show_errors)
    print(urgency(results["dev"]))
    if "heldout" in results:
        report("heldout, rules alone", rules_alone["heldout"], False)
        report("heldout, rules and model", results["heldout"], False)
        print(urgency(results["heldout"]))
    for kind, texts in zip(("nothing to flag", "flagged words"), brand_posts(), strict=True):
        actions = [classify(text).action for text in texts]
        hidden = [text for text, action in zip(texts, actions, strict=True) if action == "hide"]
        print(f"brand posts (sensitivity sets), {kind}: {len(texts)} texts, {len(hidden)} hidden "
              f"({len(hidden) / len(texts):.3f}), {actions.count('escalate')} escalated")
        if args.show_errors:
            for text in hidden:
                print("    HIDDEN", text)
    held = results.get("heldout", results["dev"])
    print(f"moderation hide_recall={held.recall['hide']:.3f} "
          f"escalate_recall={held.recall['escalate']:.3f} false_hide={held.false_hide:.3f}"
          + ("" if "heldout" in results else " set=dev"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
