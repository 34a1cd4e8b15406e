"""Train the moderation model, and (with --cv) choose its thresholds and say how well it does.

    python -m campaigns.conversations.moderation.train          # train and save (minutes)
    python -m campaigns.conversations.moderation.train --cv     # also cross-validate (~45 min)
    python -m campaigns.conversations.moderation.train --if-stale   # only when out of date

The model is saved under ``var/moderation/`` (see ``model.py``); the engine trains it by itself
when it is missing or stale, so this is only to pay that cost ahead (``bin/setup`` does).

With --cv: cross-validation on the training sets (never on the held-out set), one set held out at
a time (one author's comments, or dev): each comment gets the opinion of a model trained without
its author, as a blind set's comments will. From these out-of-fold probabilities, combined with
the rules as ``engine.classify`` combines them, it chooses:

- the escalate threshold: the highest at which the combined classifier misses at most one
  escalation in 200 (0.5%; a person at risk missed weighs more than a hide missed);
- the urgent threshold: the lowest at which at least 80% of the model's own escalations (those
  no rule made) are people at risk;
- the hide threshold: the lowest at which the model's added hides hide at most 1% of
  legitimate comments, and at most 3% of brand copy (its own out-of-fold opinions,
  ``model.copy_out_of_fold``). Brand copy is not what the inbox reads, and much of it (offers
  with codes, job ads, "we will never ask for your PIN") would be spam or a scam if a stranger
  posted it; but a threshold that hides more of it also hides everyday comments in those words;

prints them next to the ones in ``engine.py`` (which the engine uses), and scores the combined
classifier per training set.
"""

from __future__ import annotations

import argparse
import sys
import time

from campaigns.conversations.moderation import engine
from campaigns.conversations.moderation import model as trained
from campaigns.conversations.moderation.engine import ESCALATE, HIDE, classify
from campaigns.conversations.moderation.evaluation import load, score

MISSED_ESCALATIONS = 0.005
URGENT_PRECISION = 0.80
MODEL_FALSE_HIDES = 0.01
COPY_FALSE_HIDES = 0.03


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _given(rules_action: str, opinion, thresholds) -> tuple[str, bool]:
    """The combined action and its urgency at the given (escalate, urgent, hide) thresholds."""
    second = engine._second_opinion(rules_action, opinion, thresholds)
    if second is None:
        return rules_action, rules_action == ESCALATE
    return second[0], second[3]


def choose(rows, verdicts, opinions, copy=()) -> tuple[float, float, float]:
    """The three thresholds, from the rules' verdicts and the out-of-fold opinions (``copy``:
    brand copy's, as (the rules' verdict, the opinion) pairs)."""
    def actions(*thresholds):
        return [_given(v.action, o, thresholds) for v, o in zip(verdicts, opinions, strict=True)]

    labels = [action for _, _, action, _ in rows]
    at_risk = labels.count(ESCALATE)
    escalate = 0.01
    for hundredths in range(1, 100):
        given = actions(hundredths / 100, 1.0, 1.0)
        missed = sum(g != ESCALATE for (g, _), a in zip(given, labels, strict=True)
                     if a == ESCALATE)
        if missed > MISSED_ESCALATIONS * at_risk:
            break
        escalate = hundredths / 100
    urgent = 1.0
    for hundredths in range(int(escalate * 100), 101):
        given = actions(escalate, hundredths / 100, 1.0)
        model_urgent = [a for (g, u), a, v in zip(given, labels, verdicts, strict=True)
                        if g == ESCALATE and u and v.action != ESCALATE]
        if model_urgent and model_urgent.count(ESCALATE) >= URGENT_PRECISION * len(model_urgent):
            urgent = hundredths / 100
            break
    legitimate = sum(a in ("reply", "none") for a in labels)
    hide = 1.0
    for hundredths in range(30, 100):
        given = actions(escalate, urgent, hundredths / 100)
        added = sum(g == HIDE and v.action != HIDE and a in ("reply", "none")
                    for (g, _), a, v in zip(given, labels, verdicts, strict=True))
        copy_hidden = sum(_given(v.action, o, (escalate, urgent, hundredths / 100))[0] == HIDE
                          for v, o in copy)
        if added <= MODEL_FALSE_HIDES * legitimate and copy_hidden <= COPY_FALSE_HIDES * len(copy):
            hide = hundredths / 100
            break
    return escalate, urgent, hide


def _in_turn(opinions, thresholds):
    """A classifier for ``score``, which asks once per item in order: each item classified with
    its own out-of-fold opinion, at the given thresholds."""
    ahead = iter(opinions)
    return lambda text: classify(text, opinion=next(ahead), thresholds=thresholds)


def report(opinions, thresholds) -> None:
    """Each training set scored by the rules alone and by the rules with the out-of-fold
    opinions at ``thresholds`` (in ``trained.labelled()`` order, which is the sets' order); the
    authors' sets (``eval/authors/``) together."""
    remaining = iter(opinions)
    sets: dict[str, list] = {}
    for path in trained.TRAINING_SETS:
        name = "authors" if path.parent.name == "authors" else path.stem
        sets.setdefault(name, []).extend(load(path))
    for name, items in sets.items():
        for label, result in (
                ("rules alone", score(items, lambda text: classify(text, second_opinion=False))),
                ("rules + out-of-fold model",
                 score(items, _in_turn([next(remaining) for _ in items], thresholds)))):
            wrongly, quiet = result.escalated_wrongly
            caught = result.labelled["escalate"] - len(result.escalations_missed)
            hides = round(result.recall["hide"] * result.labelled["hide"])
            say(f"  {name:7s} {label:26s} escalations caught {caught}/"
                f"{result.labelled['escalate']}, hides {hides}/{result.labelled['hide']} "
                f"({result.recall['hide']:.3f}), legitimate hidden {result.legitimate_hidden}/"
                f"{result.legitimate} ({result.false_hide:.3f}), escalated wrongly {wrongly} "
                f"({quiet} of them quiet), escalations hidden {len(result.escalations_hidden)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cv", action="store_true",
                        help="cross-validate, choose the thresholds, print the figures")
    parser.add_argument("--if-stale", action="store_true",
                        help="train only if the saved model is missing or out of date")
    args = parser.parse_args(argv)
    if args.if_stale and not args.cv and trained.is_current():
        say(f"moderation model up to date ({trained.model_path()})")
        return 0
    began = time.perf_counter()
    trained.train()
    say(f"model trained from {len(trained.labelled())} comments in "
        f"{len(trained.TRAINING_SETS)} sets and brand copy in "
        f"{time.perf_counter() - began:.1f} s, saved to {trained.model_path()}")
    if not args.cv:
        return 0
    began = time.perf_counter()
    rows = trained.labelled()
    opinions = trained.out_of_fold()
    verdicts = [classify(text, second_opinion=False) for _, text, _, _ in rows]
    copy = list(zip([classify(text, second_opinion=False) for text in trained.brand_copy()],
                    trained.copy_out_of_fold(), strict=True))
    say(f"cross-validation, one set held out at a time ({len(rows)} comments, "
        f"{len(trained.TRAINING_SETS)} sets), and brand copy in {trained.COPY_FOLDS} folds "
        f"({len(copy)} texts), {time.perf_counter() - began:.0f} s")
    escalate, urgent, hide = choose(rows, verdicts, opinions, copy)
    say(f"thresholds chosen: escalate >= {escalate:.2f}, urgent >= {urgent:.2f}, "
        f"hide >= {hide:.2f}")
    in_use = (engine.ESCALATE_AT, engine.URGENT_AT, engine.HIDE_AT)
    say(f"thresholds in use (engine.py): escalate >= {in_use[0]:.2f}, urgent >= "
        f"{in_use[1]:.2f}, hide >= {in_use[2]:.2f}"
        + ("" if in_use == (escalate, urgent, hide)
           else "   <- differ from those chosen: update engine.py"))
    say("scored at the thresholds chosen:")
    report(opinions, (escalate, urgent, hide))
    hidden = sum(_given(v.action, o, (escalate, urgent, hide))[0] == HIDE for v, o in copy)
    say(f"  brand copy hidden out of fold: {hidden}/{len(copy)} ({hidden / len(copy):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
