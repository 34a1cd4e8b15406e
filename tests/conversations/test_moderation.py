"""The moderation classifier: the hard cases a profanity filter gets wrong, escalation before
hiding, a brand's own words and trusted authors, the command's JSON lines, and its quality on
the held-out labelled set (which its rules were not written from)."""

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from campaigns.conversations.moderation import CATEGORIES, Rule, classify, default_rules
from campaigns.conversations.moderation.evaluation import EVAL_DIR, brand_posts, load, score
from tests.conftest import ROOT


@pytest.mark.parametrize("text, action, category", [
    # Swearing in praise is not abuse; a plain profanity filter hides these.
    ("damn good coffee", "none", "praise"),
    ("this is fucking delicious, best flat white in town", "none", "praise"),
    ("holy shit, the new kettle is brilliant", "none", "praise"),
    # Naming an identity is not hate.
    ("as a queer customer I love seeing us in your campaign", "none", "praise"),
    ("as a Muslim mum, thank you for the halal options", "none", "praise"),
    ("As a trans woman I felt welcome in your shop", "none", "praise"),
    # An identity used as a slur, or with dehumanising words, is.
    ("trannies in your advert? freaks", "hide", "hate"),
    ("immigrants are vermin and you hire them", "hide", "hate"),
    # Threats without a rude word.
    ("I know where you live", "hide", "threat"),
    ("you'll regret this, watch your back", "hide", "threat"),
    # Blunt criticism stays visible and gets a reply.
    ("this is the worst coffee I have ever had, you should be ashamed", "reply", "criticism"),
    ("your service is shit and the app is garbage", "reply", "criticism"),
    # Insults aimed at people are hidden.
    ("your staff are useless morons", "hide", "abuse"),
    ("f*ck off", "hide", "abuse"),
    ("what a stupid b!tch that cashier is", "hide", "abuse"),
    ("the night bus is a shelter for p*kis and junkies now", "hide", "hate"),
    # A person's phone number or home address.
    ("the barista's number is 07700 900123, ring her all night", "hide", "doxxing"),
    ("the manager lives at 12 High Street, Oxford OX1 4AB, go and see him", "hide", "doxxing"),
    # Crypto giveaways and "DM me to claim".
    ("Bitcoin giveaway! send 0.1 BTC and get 1 BTC back", "hide", "scam"),
    ("DM me to claim your prize 🎁", "hide", "scam"),
    ("buy followers cheap at followboost.biz", "hide", "spam"),
    # People at risk.
    ("I don't want to be here anymore", "escalate", "self_harm"),
    ("my husband hits me and I'm scared to go home", "escalate", "domestic_violence"),
    ("your kettle burned my daughter", "escalate", "product_injury"),
    ("someone collapsed in your Leeds shop and isn't breathing", "escalate",
     "medical_emergency"),
    # Questions, complaints; chatter.
    ("do you deliver to Belfast?", "reply", "question"),
    ("I was charged twice for one order", "reply", "complaint"),
    ("kill me, it's only Monday 😂", "none", "chatter"),
])
def test_named_hard_cases(text, action, category):
    verdict = classify(text)
    assert (verdict.action, category in verdict.categories) == (action, True), verdict


def test_the_reason_names_what_matched():
    assert "I know where you live" in classify("Sam, I know where you live.").reason
    assert "morons" in classify("you lot are morons").reason
    assert classify("lovely cake").reason.startswith("Nothing to act on")
    # A rule that needs two things names both.
    assert "husband … hits me" in classify("my husband hits me").reason
    assert classify("lovely cake").version == default_rules().version  # kept with an action


def test_categories_come_from_the_fixed_list_in_order():
    verdict = classify("your stupid kettle burned my son you absolute morons")
    assert verdict.categories == ["abuse", "product_injury"]
    assert set(verdict.categories) <= set(CATEGORIES)


def test_a_person_at_risk_is_escalated_never_hidden_even_in_an_abusive_message():
    verdict = classify("fuck you all, I'm going to kill myself tonight")
    assert verdict.action == "escalate"
    assert {"abuse", "self_harm"} <= set(verdict.categories)
    assert "Not hidden" in verdict.reason
    # ...and a trusted author at risk is escalated too.
    assert classify("I want to end my life", trusted=True).action == "escalate"


def test_trusted_authors_are_never_hidden_automatically():
    text = "shut up you clowns"
    assert classify(text).action == "hide"
    trusted = classify(text, trusted=True)
    assert trusted.action == "reply"
    assert "abuse" in trusted.categories and "trusted" in trusted.reason


def test_brand_words_per_action_and_per_category():
    assert classify("Ordered from Brewmart, better").action != "hide"
    hidden = classify("Ordered from Brewmart, better", brand_words={"hide": ["brewmart"]})
    assert hidden.action == "hide" and "Brewmart" in hidden.reason
    recall = classify("is this part of the Model K recall", brand_words={"escalate": ["recall"]})
    assert recall.action == "escalate"
    as_category = classify("Brewmart is cheaper", brand_words={"spam": ["brewmart"]})
    assert (as_category.action, as_category.categories) == ("hide", ["spam"])
    # A brand's "none" words are fine in its threads: a lipstick range called Nudes.
    text = "when will you restock the nudes palette? need it for saturday"
    assert classify(text).action == "hide"
    fine = classify(text, brand_words={"none": ["nudes palette"]})
    assert fine.action == "reply"


def test_brand_words_with_an_unknown_action_say_what_is_allowed():
    with pytest.raises(ValueError, match="per action .*hide.*not “block”"):
        classify("hello", brand_words={"block": ["x"]})


def test_a_rule_with_an_unknown_category_or_key_is_refused_clearly():
    with pytest.raises(ValueError, match="unknown category rudeness; use one of abuse"):
        Rule.build({"id": "x.y", "category": "rudeness", "exact": ["x"]})
    with pytest.raises(ValueError, match=r"unknown keys \['term'\]"):
        Rule.build({"id": "x.y", "category": "abuse", "term": ["x"]})


def _command(*args, stdin=""):
    return subprocess.run([sys.executable, "manage.py", "moderation_classify", *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_command_reads_one_comment_per_line_and_prints_one_json_object_per_line():
    lines = ["damn good coffee", json.dumps({"text": "I know where you live", "id": 7}),
             "your kettle burned my daughter, you morons", "do you open on Sundays?"]
    result = _command("--jsonl", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["action"] for a in answers] == ["none", "hide", "escalate", "reply"]
    assert all(set(a) == {"action", "categories", "reason"} for a in answers)
    assert answers[1]["categories"] == ["threat"]
    assert "I know where you live" in answers[1]["reason"]


def _call(*args, stdin="", **options):
    out, err = io.StringIO(), io.StringIO()
    status = 0
    try:
        call_command("moderation_classify", *args, stdin=io.StringIO(stdin), stdout=out,
                     stderr=err, **options)
    except SystemExit as exit:
        status = exit.code
    return status, out.getvalue(), err.getvalue()


def test_command_reports_bad_lines_by_number_and_goes_on():
    stdin = 'you absolute muppets\n{"txt": "no text key"}\n{not json\n\nlovely\n'
    status, out, err = _call("--jsonl", stdin=stdin)
    assert status == 1
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == 5  # one answer per line, so answers stay in step with the input
    assert answers[0]["action"] == "hide" and answers[4]["action"] == "none"
    assert "line 2" in err and '"text"' in err
    assert "line 3: not valid JSON" in err
    assert "line 4: empty line" in err
    assert answers[2] == {"error": answers[2]["error"]} and "line 3" in answers[2]["error"]


def test_command_takes_brand_words_trusted_and_plain_arguments():
    _, out, _ = _call("--jsonl", "--hide-word", "brewmart", stdin="try Brewmart instead\n")
    assert json.loads(out)["action"] == "hide"
    _, out, _ = _call("--jsonl", "--trusted", stdin="shut up you clowns\n")
    assert json.loads(out)["action"] == "reply"
    status, out, _ = _call("damn good coffee", "watch your back")
    assert status == 0
    assert "none: damn good coffee" in out and "hide: watch your back" in out
    with pytest.raises(CommandError, match="as arguments, or use --jsonl"):
        _call()
    with pytest.raises(CommandError, match="give no text arguments"):
        _call("--jsonl", "some text")


HELDOUT = EVAL_DIR / "heldout.jsonl"
needs_heldout = pytest.mark.skipif(
    not HELDOUT.exists(),
    reason="held-out set missing: eval/heldout.jsonl is written blind by a separate author and "
           "added by the integrator; dev.jsonl is scored by bench/moderation.py meanwhile")


def test_the_dev_set_is_big_enough_and_its_ids_are_unique():
    dev = load(EVAL_DIR / "dev.jsonl")
    actions = [i.action for i in dev]
    assert len({i.id for i in dev}) == len(dev)
    assert len(dev) >= 300
    assert actions.count("escalate") >= 30 and actions.count("hide") >= 80
    assert sum(i.note.startswith("hard negative") for i in dev) >= 60


def test_on_dev_every_escalation_is_caught_and_no_legitimate_comment_is_hidden():
    # The rules are written from dev.jsonl: a comment added there (an undone automatic action,
    # a new kind of wording) fails here until a rule handles it.
    result = score(load(EVAL_DIR / "dev.jsonl"))
    assert result.escalations_missed == [], f"escalations missed: {result.escalations_missed}"
    assert result.legitimate_hidden == 0, [e for e in result.errors if "-> hide" in e]
    assert result.recall["hide"] >= 0.97, f"hide recall {result.recall['hide']:.3f}"


def test_brand_posts_are_not_hidden_unless_they_use_a_slur():
    # Everyday brand copy and alt text from the sensitivity linter's sets, not written for
    # moderation: a broad rule that hides them would hide everyday comments too.
    clean, flagged = brand_posts()
    texts = clean + flagged
    assert len(texts) > 500
    # The rules alone hide only a slur.
    ruled = {text: verdict for text in texts
             if (verdict := classify(text, second_opinion=False)).action == "hide"}
    assert all("hate" in verdict.categories for verdict in ruled.values()), ruled
    assert len(ruled) <= 2, list(ruled)
    # With the trained model: at most 1% of the copy with nothing to flag (327 texts: 2 today,
    # "Instant transfers between euro and sterling accounts are now free..." and a swimmer's alt
    # text) ...
    hidden = [text for text in clean if classify(text).action == "hide"]
    assert len(hidden) <= 0.01 * len(clean), hidden
    # ...and at most 5% of the copy the sensitivity linter's labels flag (219 texts: 6 today:
    # the slurs, "man the booth", "she's not bossy", "#smallbusinesssaturday", "FREE SHIPPING
    # ENDS TONIGHT!"): a comment in those words may be abuse.
    hidden = [text for text in flagged if classify(text).action == "hide"]
    assert len(hidden) <= 0.05 * len(flagged), hidden


def test_every_training_set_is_well_formed_and_labelled_by_precedence():
    """The model learns from these (model.TRAINING_SETS): a line whose action does not follow
    from its categories (escalate beats hide beats reply beats none), an unknown category or an
    id used twice would teach it the wrong thing quietly."""
    from campaigns.conversations.moderation.model import TRAINING_SETS

    ids = []
    for path in TRAINING_SETS:
        for item in load(path):
            actions = {CATEGORIES[c] for c in item.categories}
            assert item.action == next(a for a in ("escalate", "hide", "reply", "none")
                                       if a in actions), (path.name, item.id)
            ids.append(item.id)
    assert len(ids) == len(set(ids))
    assert len(TRAINING_SETS) >= 20 and len(ids) >= 12000


@needs_heldout
def test_the_held_out_set_is_big_enough_and_separate_from_what_the_classifier_learnt():
    from campaigns.conversations.moderation.model import TRAINING_SETS

    heldout = load(HELDOUT)
    learnt = {" ".join(i.text.lower().split()) for path in TRAINING_SETS for i in load(path)}
    # Written blind, it shares a few everyday comments of a word or a few ("first") with the
    # older training sets; the authors' sets (eval/authors/) were stripped of any text in it.
    shared = [i.text for i in heldout if " ".join(i.text.lower().split()) in learnt]
    assert all(len(text.split()) <= 5 for text in shared) and len(shared) <= 5, shared
    actions = [i.action for i in heldout]
    assert len(heldout) >= 300
    assert actions.count("escalate") >= 30 and actions.count("hide") >= 80
    assert sum(i.note.startswith("hard negative") for i in heldout) >= 60


# The blind held-out set 6 (written by a separate author from the label definitions only, never
# trained or tuned on) scored once, rules r13 with the model trained from 43 sets: hide recall
# 0.924, escalate recall 1.000 (none hidden), false hides 0.005 (rules alone: 0.449, 0.603,
# 0.005). Sets 3 to 5 missed the hide target (0.696, 0.883, 0.833; eval/README.md).


@needs_heldout
def test_held_out_set_hides_at_most_three_percent_of_legitimate_comments():
    result = score(load(HELDOUT))
    assert result.false_hide <= 0.03, f"false hides {result.false_hide:.3f}"


@needs_heldout
def test_held_out_set_hide_recall_at_least_ninety_percent():
    result = score(load(HELDOUT))
    assert result.recall["hide"] >= 0.9, f"hide recall {result.recall['hide']:.3f}"


@needs_heldout
def test_held_out_set_never_hides_a_person_at_risk():
    result = score(load(HELDOUT))
    assert result.escalations_hidden == [], f"hidden: {result.escalations_hidden}"


@needs_heldout
def test_held_out_set_every_escalation_caught():
    result = score(load(HELDOUT))
    assert result.escalations_missed == [], f"escalations missed: {result.escalations_missed}"
