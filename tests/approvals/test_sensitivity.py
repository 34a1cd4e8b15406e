"""The sensitivity linter finds what a reviewer would raise, and leaves names and fixed phrases
alone. Its quality on the held-out labelled set is checked here too (not its speed)."""

import json
import subprocess
import sys

import pytest

from approvals.sensitivity import brand_rules, default_rules, lint
from approvals.sensitivity.evaluation import EVAL_DIR, load, score
from tests.conftest import ROOT


def _found(text, field="copy", rules=None):
    return [(f.match, f.category) for f in lint(text, field=field, rules=rules)]


@pytest.mark.parametrize("text, expected", [
    ("Our roast is insanely good", [("insanely", "ableist")]),
    ("We crippled the competition", [("crippled", "ableist")]),
    ("Stop spazzing and grab a cup", [("spazzing", "ableist")]),
    ("Hey guys, new menu!", [("Hey guys", "gendered")]),
    ("Man the booth with us on Saturday", [("Man the", "gendered")]),
    ("Killer deals all week", [("Killer deals", "violence_tragedy")]),
    ("Prices so low it's a massacre", [("massacre", "violence_tragedy")]),
    ("Our feedback fell on deaf ears", [("fell on deaf ears", "ableist")]),
    ("Add it to the blacklist", [("blacklist", "race_ethnicity")]),
    ("Find your tribe at our gym", [("tribe", "race_ethnicity")]),
    ("Perfect for the elderly", [("the elderly", "age")]),
    ("Open to both genders", [("both genders", "sexuality_gender_identity")]),
    ("The founder committed suicide in 1990", [("committed suicide", "mental_health")]),
    ("I'm so OCD about my latte art", [("OCD", "mental_health")]),
    ("What the f*ck is this price", [("f*ck", "profanity")]),
])
def test_flags_terms_with_their_inflections_and_phrases(text, expected):
    assert _found(text) == expected


@pytest.mark.parametrize("text", [
    "Visit the Crazy Horse Memorial this summer",
    "A black coffee and our new white paper",
    "She finished her master's degree while running the shop",
    "Our host for the night is Sam",
    "Time to execute the plan",
    "Behind the scenes of our photo shoot",
    "Scunthorpe, we are coming to you",
    "A Bloody Mary at Hell's Kitchen",
    "Dick Van Dyke dropped by the café",
    "Spotted a killer whale off the coast!",
    "Mental health matters: talk to someone today",
    "Happy Black History Month from all of us",
    "Welcome to our #coffee lovers and #ThrowbackThursday fans",
])
def test_leaves_names_and_fixed_phrases_alone(text):
    assert _found(text) == []


def test_each_finding_has_span_rule_category_severity_message_and_suggestions():
    [finding] = lint("This sale is crazy")
    assert "This sale is crazy"[finding.start:finding.end] == "crazy"
    assert finding.rule == "ableist.crazy" and finding.severity in ("error", "warning")
    assert "crazy" in finding.message and "wild" in finding.suggestions


def test_accessibility_hashtags_caps_and_emoji_walls():
    text = "#blacklivesmatter BUY ONE GET ONE FREE 🔥🔥🔥🔥 #coffee"
    findings = {f.rule: f for f in lint(text)}
    assert findings["accessibility.hashtag_case"].suggestions == ["#BlackLivesMatter"]
    assert findings["accessibility.all_caps"].match == "BUY ONE GET ONE FREE"
    assert findings["accessibility.emoji_wall"].match == "🔥🔥🔥🔥"
    assert set(findings) == {"accessibility.hashtag_case", "accessibility.all_caps",
                             "accessibility.emoji_wall"}


@pytest.mark.parametrize("alt, rule", [
    ("Image of a barista pouring milk", "accessibility.alt_lead_in"),
    ("IMG_2041.jpg", "accessibility.alt_filename"),
    ("photo", "accessibility.alt_empty"),
])
def test_weak_alt_text(alt, rule):
    assert [f.rule for f in lint(alt, field="alt_text")] == [rule]
    assert lint("A barista pours milk into a flat white", field="alt_text") == []


def test_brand_terms_ban_and_prefer_words():
    rules = default_rules() + brand_rules([("cheap", "affordable", ""),
                                           ("Brand X", "", "Never name competitors.")])
    found = {f.match: f for f in lint("Cheaper than Brand X!", rules=rules)}
    assert found["Cheaper"].suggestions == ["affordable"] and found["Cheaper"].severity == "warning"
    assert found["Brand X"].severity == "error" and "competitors" in found["Brand X"].message


def test_command_line_prints_one_json_array_per_line():
    lines = "Our insanely good roast\nAll good here\n#throwbackthursday vibes\n"
    result = subprocess.run([sys.executable, "manage.py", "sensitivity_lint", "--jsonl"],
                            input=lines, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    arrays = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(arrays) == 3 and arrays[1] == []
    first = arrays[0][0]
    assert (first["start"], first["end"], first["rule"]) == (4, 12, "ableist.crazy")
    assert {"category", "severity", "message", "suggestions"} <= set(first)
    assert arrays[2][0]["category"] == "accessibility"


def test_scores_at_least_090_recall_and_precision_on_the_held_out_set():
    result = score(load(EVAL_DIR / "heldout.jsonl"))
    assert result.expected >= 100
    assert result.recall >= 0.9, f"recall {result.recall:.3f}"
    assert result.precision >= 0.9, f"precision {result.precision:.3f}"
