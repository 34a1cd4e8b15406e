"""Benchmark: the moderation classifier on the labelled comments (issue 19, safe spaces).

    python bench/moderation.py [--show-errors] [--no-cv] [--dev-only]

Scores ``campaigns/conversations/moderation/eval/dev.jsonl`` (the rules were written from it)
and ``heldout.jsonl`` (written blind, never tuned on) separately: per action recall and
precision, the share of legitimate comments (labelled reply or none) that would be hidden, the
escalations missed and any escalation hidden. As a third, independent check of false hides, the
brand posts of the sensitivity linter's sets (546 texts of everyday brand copy and alt text, none
of which should be hidden; not written for moderation). Also the classifier's speed. Last line,
on the held-out set:

    moderation hide_recall=<x> escalate_recall=<y> false_hide=<z>

When ``heldout.jsonl`` is absent (a branch before the integrator adds it) the benchmark says
"held-out set missing", scores dev only, and the last line gives dev's figures, marked
``set=dev`` so it is never mistaken for the held-out score.

The classifier is the rules with the trained model's second opinion (``model.py``). The model is
trained from dev, so its figures on dev would flatter it: the bench also prints the rules alone
and the dev figures of the combined classifier with the model cross-validated (5 folds, each
comment judged by a model trained without it; the honest dev figure for the model part; --no-cv
skips this minute). --dev-only leaves the held-out set out (for work on the classifier: the
held-out set is scored by the integrator, once).

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

from approvals.sensitivity.evaluation import EVAL_DIR as SENSITIVITY_EVAL  # noqa: E402
from approvals.sensitivity.evaluation import load as load_posts  # noqa: E402
from campaigns.conversations.moderation import ACTIONS, classify, default_rules  # noqa: E402
from campaigns.conversations.moderation.engine import (  # noqa: E402
    ESCALATE_THRESHOLD,
    HIDE_THRESHOLD,
)
from campaigns.conversations.moderation.evaluation import (  # noqa: E402
    EVAL_DIR,
    Result,
    load,
    score,
)
from campaigns.conversations.moderation.model import default_model  # noqa: E402
from campaigns.conversations.moderation.train import combined_out_of_fold, summary  # noqa: E402


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show-errors", action="store_true",
                        help="list wrong answers (dev set only)")
    parser.add_argument("--no-cv", action="store_true",
                        help="skip the cross-validated dev figures (a minute)")
    parser.add_argument("--dev-only", action="store_true",
                        help="leave the held-out set out")
    args = parser.parse_args(argv)
    names = ("dev",) if args.dev_only else ("dev", "heldout")
    sets = {name: load(EVAL_DIR / f"{name}.jsonl") for name in names
            if (EVAL_DIR / f"{name}.jsonl").exists()}
    began = time.perf_counter()
    model = default_model()  # loaded, or trained when missing or stale
    print(f"rules version {default_rules().version}, model {model.fingerprint[:8]} (ready in "
          f"{time.perf_counter() - began:.1f} s; thresholds escalate >= {ESCALATE_THRESHOLD}, "
          f"hide >= {HIDE_THRESHOLD})")
    if args.dev_only:
        print("held-out set left out (--dev-only): scoring dev only")
    elif "heldout" not in sets:
        print(f"held-out set missing ({EVAL_DIR / 'heldout.jsonl'}): scoring dev only")

    texts = [item.text for items in sets.values() for item in items]
    classify("warm up")  # rules compiled, model loaded
    for name, options in (("rules alone", {"second_opinion": False}),
                          ("rules + model", {})):
        began = time.perf_counter()
        for _ in range(3):
            for text in texts:
                classify(text, **options)
        elapsed = (time.perf_counter() - began) / 3
        print(f"speed ({name}): {len(texts)} comments in {elapsed * 1000:.0f} ms "
              f"({elapsed / len(texts) * 1000:.2f} ms per comment)")

    results = {name: score(items) for name, items in sets.items()}
    print("dev, rules alone (written from dev):")
    report("    dev", score(sets["dev"], lambda text: classify(text, second_opinion=False)),
           False)
    print("dev, rules + model (the model trained on dev: flattering):")
    report("    dev", results["dev"], args.show_errors)
    if not args.no_cv:
        _, both, _ = combined_out_of_fold()
        print("dev, rules + model cross-validated (5 folds, out of fold):")
        report("    dev", both, False)
        print("    " + summary("cross-validated", both))
    if "heldout" in results:
        report("heldout", results["heldout"], False)
    brand_posts = [text for name in ("dev", "heldout")
                   for item in load_posts(SENSITIVITY_EVAL / f"{name}.jsonl")
                   for text in item.texts.values()]
    hidden = [text for text in brand_posts if classify(text).action == "hide"]
    escalated = [text for text in brand_posts if classify(text).action == "escalate"]
    rules_escalated = [text for text in escalated
                       if classify(text, second_opinion=False).action == "escalate"]
    print(f"brand posts (sensitivity sets): {len(brand_posts)} texts, {len(hidden)} hidden "
          f"({len(hidden) / len(brand_posts):.3f}), {len(escalated)} escalated "
          f"({len(rules_escalated)} by the rules, {len(escalated) - len(rules_escalated)} by the "
          f"model; the model trains on the sensitivity dev set's posts as everyday text)")
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
