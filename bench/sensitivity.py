"""Benchmark: the sensitivity linter's recall and precision on the labelled posts, beside alex.

    python bench/sensitivity.py [--no-alex] [--show-errors]

Scores ``approvals/sensitivity/eval/dev.jsonl`` (used while writing the rules) and
``heldout.jsonl`` (never tuned on): a finding counts when it overlaps a span a reviewer marked in
the same field (copy or alt text). In the same run, when Node.js is on the machine, alex 11
(retext-equality and retext-profanities, installed with npm under ``var/bench/alex`` on first
use) scores the same texts the same way. Also prints the linter's speed. Last line:

    sensitivity heldout_recall=<r> heldout_precision=<p> alex_recall=<r> alex_precision=<p>
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agency.settings.dev")

from approvals.sensitivity import lint  # noqa: E402  (after the path is set)
from approvals.sensitivity.engine import CATEGORIES, Finding  # noqa: E402
from approvals.sensitivity.evaluation import EVAL_DIR, Item, load, score  # noqa: E402

ALEX_DIR = ROOT / "var" / "bench" / "alex"


def alex_linter(items: list[Item]):
    """A linter answering from alex's findings on every text of ``items`` (one node run)."""
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    if not (ALEX_DIR / "node_modules" / "alex").exists():
        ALEX_DIR.mkdir(parents=True, exist_ok=True)
        print("installing alex@11 with npm (first run only)...")
        subprocess.run(["npm", "install", "--silent", "--prefix", str(ALEX_DIR), "alex@11"],
                       check=True, timeout=600)
    shutil.copy(ROOT / "bench" / "alex_run.mjs", ALEX_DIR / "run.mjs")
    texts = sorted({t.replace("\n", " ") for item in items for t in item.texts.values()})
    result = subprocess.run(["node", str(ALEX_DIR / "run.mjs")], input="\n".join(texts) + "\n",
                            capture_output=True, text=True, check=True, timeout=600)
    answers = dict(zip(texts, result.stdout.splitlines(), strict=True))

    def linter(text: str, field: str = "copy") -> list[Finding]:
        return [Finding(m["start"], m["end"], f"alex.{m['rule']}", "alex", "warning", "", [],
                        text[m["start"]:m["end"]], field)
                for m in json.loads(answers[text.replace("\n", " ")])]

    return linter


def report(name: str, result, show_errors: bool) -> None:
    print(f"{name}: {result.expected} marked spans, {result.predicted} findings; "
          f"recall {result.recall:.3f}, precision {result.precision:.3f}")
    for category in CATEGORIES:
        expected = result.per_category[(category, "expected")]
        predicted = result.per_category[(category, "predicted")]
        if expected or predicted:
            recall = result.per_category[(category, "found")] / expected if expected else 1
            precision = (f"{result.per_category[(category, 'correct')] / predicted:.2f}"
                         if predicted else "-")
            print(f"    {category:26s} marked {expected:3d} recall {recall:.2f}   "
                  f"findings {predicted:3d} precision {precision}")
    if show_errors:
        for line in result.misses:
            print("    MISSED", line)
        for line in result.false_alarms:
            print("    FALSE ALARM", line)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-alex", action="store_true", help="skip the alex comparison")
    parser.add_argument("--show-errors", action="store_true",
                        help="list misses and false alarms (dev set only)")
    args = parser.parse_args(argv)
    sets = {name: load(EVAL_DIR / f"{name}.jsonl") for name in ("dev", "heldout")}
    for name, items in sets.items():
        clean = sum(1 for item in items if not item.spans)
        print(f"{name}: {len(items)} posts ({clean} with nothing to raise)")

    lint("warm up")  # rules compiled, word list loaded
    texts = [(t, f) for items in sets.values() for item in items for f, t in item.texts.items()]
    began = time.perf_counter()
    for _ in range(3):
        for text, field in texts:
            lint(text, field=field)
    elapsed = (time.perf_counter() - began) / 3
    print(f"speed: {len(texts)} texts in {elapsed * 1000:.0f} ms "
          f"({elapsed / len(texts) * 1000:.2f} ms per text)")

    ours = {name: score(items) for name, items in sets.items()}
    report("ours dev", ours["dev"], args.show_errors)
    report("ours heldout", ours["heldout"], False)
    alex = None
    if not args.no_alex:
        linter = alex_linter([i for items in sets.values() for i in items])
        if linter is None:
            print("alex: skipped (no node/npm on this machine)")
        else:
            alex = score(sets["heldout"], linter)
            report("alex heldout", alex, False)
    print(f"sensitivity heldout_recall={ours['heldout'].recall:.3f} "
          f"heldout_precision={ours['heldout'].precision:.3f} "
          f"alex_recall={alex.recall if alex else float('nan'):.3f} "
          f"alex_precision={alex.precision if alex else float('nan'):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
