"""The trained second opinion (campaigns/conversations/moderation/model.py) and how it is
combined with the rules: safety wins, a model-only escalation it is not sure of is quiet
(pinned, nobody emailed), the model never hides a trusted author or a person at risk; and the
saved model is trained again when what it learnt from changes."""

from __future__ import annotations

import pytest
from django.core import mail

from campaigns.conversations import tasks
from campaigns.conversations.models import Item, ModerationAction, What
from campaigns.conversations.moderation import classify, classify_many, engine, model
from campaigns.conversations.moderation.engine import Opinion
from tests.conversations.conftest import in_brand, publish


def opinion(escalate=0.0, hide=0.0, reply=0.0, none=None, *, risk="self_harm",
            abuse="abuse") -> Opinion:
    none = 1.0 - escalate - hide - reply if none is None else none
    return Opinion({"escalate": escalate, "hide": hide, "reply": reply, "none": none},
                   {"escalate": (risk, escalate), "hide": (abuse, hide),
                    "reply": ("question", reply), "none": ("chatter", none)}, "test1234")


def test_a_model_escalation_it_is_not_sure_of_is_quiet_and_a_sure_one_is_urgent():
    text = "long week"
    assert classify(text, second_opinion=False).action == "none"
    quiet = classify(text, opinion=opinion(escalate=engine.ESCALATE_AT + 0.01))
    assert (quiet.action, quiet.urgent) == ("escalate", False)
    assert quiet.categories == ["self_harm"] and quiet.reason.startswith("Pinned for a look")
    assert quiet.version.endswith("+model:test1234")
    sure = classify(text, opinion=opinion(escalate=engine.URGENT_AT, risk="medical_emergency"))
    assert (sure.action, sure.urgent, sure.categories) == ("escalate", True,
                                                           ["medical_emergency"])
    assert sure.reason.startswith("Escalated to a person: model: likely medical emergency")
    below = classify(text, opinion=opinion(escalate=engine.ESCALATE_AT - 0.01))
    assert below.action == "none"


def test_the_rules_escalation_is_always_urgent_whatever_the_model_says():
    verdict = classify("I don't want to be here anymore", opinion=opinion(none=1.0))
    assert (verdict.action, verdict.urgent) == ("escalate", True)


def test_a_person_at_risk_is_never_hidden_by_the_model():
    text = "you are all idiots"
    assert classify(text, second_opinion=False).action == "hide"
    verdict = classify(text, opinion=opinion(escalate=0.3, hide=0.7))
    assert verdict.action == "escalate" and "Not hidden" in verdict.reason


def test_the_model_hides_only_when_sure_and_never_a_trusted_author():
    text = "the girl on the till has lovely legs, tell her to wear shorter skirts for me"
    assert classify(text, second_opinion=False).action == "none"
    hidden = classify(text, opinion=opinion(hide=engine.HIDE_AT, abuse="sexual_harassment"))
    assert (hidden.action, hidden.categories) == ("hide", ["sexual_harassment"])
    assert hidden.reason == f"Hidden: model: likely sexual harassment (p={engine.HIDE_AT:.2f})."
    unsure = classify(text, opinion=opinion(hide=engine.HIDE_AT - 0.01))
    assert unsure.action != "hide"
    trusted = classify(text, trusted=True, opinion=opinion(hide=0.99))
    assert trusted.action == "reply" and "trusted" in trusted.reason


def test_with_no_rule_matched_the_model_says_whether_it_needs_a_reply():
    assert classify("hmm", opinion=opinion(reply=0.6, none=0.4)).action == "reply"
    assert classify("hmm", opinion=opinion(reply=0.4, none=0.6)).action == "none"


def test_the_real_model_catches_new_wording_the_rules_miss():
    """New wording (written for this test, in no labelled set): the rules let it pass, the
    model escalates or hides it."""
    for text, action in [
        ("after tonight nobody will have to put up with me anymore", "escalate"),
        ("I have written a letter to each of my kids and put the dog with my brother. tonight "
         "I finally get some peace", "escalate"),
        ("the girl on the till has lovely legs, tell her to wear shorter skirts for me", "hide"),
    ]:
        assert classify(text, second_opinion=False).action == "none", text
        assert classify(text).action == action, text
    # ...and leaves everyday comments alone.
    for text in ("cracking pizza, the crust was unreal", "such a cute dog in the ad!"):
        assert classify(text).action == "none", text


def test_an_actions_probability_is_the_sum_of_its_categories():
    """The model learns the sixteen categories; each action's probability is the sum of its
    own, and the category it names for an action is that action's likeliest."""
    from campaigns.conversations.moderation.engine import CATEGORIES

    trained = model.default_model()
    names = [str(c) for c in trained.categories.classes_]
    texts = [model.prepare(t) for t in ("I know where you live", "do you deliver to Belfast?")]
    rows = trained.categories.predict_proba(
        trained._features(trained.vectoriser, texts, model.sentences.encode(texts, peaks=True)))
    for row, said in zip(rows, trained.opinions(texts), strict=True):
        assert sum(said.probability.values()) == pytest.approx(1.0)
        for action, (category, p) in said.category.items():
            own = {n: q for n, q in zip(names, row, strict=True) if CATEGORIES[n] == action}
            assert said.probability[action] == pytest.approx(sum(own.values()))
            assert p == pytest.approx(max(own.values())) and own[category] == p


def test_classifying_a_page_at_once_gives_the_same_verdicts_as_one_by_one():
    texts = ["after tonight nobody will have to put up with me anymore", "you absolute muppet",
             "do you deliver to Belfast?", "damn good coffee", "send nudes palette restock pls"]
    words = {"none": ["nudes palette"]}
    assert classify_many(texts, brand_words=words, trusted=[False, True, False, False, False]) \
        == [classify(t, brand_words=words, trusted=trust)
            for t, trust in zip(texts, [False, True, False, False, False], strict=True)]


def test_cross_validation_chooses_thresholds_that_bound_misses_and_false_hides():
    """``train.choose`` on out-of-fold opinions: the escalate threshold is the highest that
    misses no more people at risk than the budget; the hide threshold the lowest that hides at
    most 1% of legitimate comments, and of brand copy."""
    from types import SimpleNamespace

    from campaigns.conversations.moderation import train

    rules = SimpleNamespace(action="none")
    rows, opinions = [], []
    for i in range(20):  # people at risk, at a risk of 0.5
        rows.append(("s", f"r{i}", "escalate", "self_harm"))
        opinions.append(opinion(escalate=0.5, none=0.5))
    for i in range(80):  # hides, sure or not
        rows.append(("s", f"h{i}", "hide", "abuse"))
        opinions.append(opinion(hide=0.3 + i * 0.0085))
    for i in range(100):  # legitimate comments, one of which looks like abuse
        rows.append(("s", f"l{i}", "none", "chatter"))
        opinions.append(opinion(hide=0.6 if i == 0 else 0.0))
    verdicts = [rules] * len(rows)
    assert train.choose(rows, verdicts, opinions) == (0.5, 0.5, 0.3)
    # Four brand posts in a hundred read as abuse at 0.7 (3% may be): the threshold rises above.
    copy = [(rules, opinion(hide=0.7 if i < 4 else 0.1)) for i in range(100)]
    assert train.choose(rows, verdicts, opinions, copy) == (0.5, 0.5, 0.71)


def test_the_saved_model_is_trained_again_when_it_is_stale(tmp_path, monkeypatch):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"not a model")
    assert not model.is_current(path)
    saved = model.default_model()
    monkeypatch.setattr(model, "fingerprint", lambda: saved.fingerprint)
    import pickle

    path.write_bytes(pickle.dumps(saved))
    assert model.is_current(path)
    monkeypatch.setattr(model, "fingerprint", lambda: "another training set")
    assert not model.is_current(path)


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
def test_a_quiet_escalation_is_pinned_and_nobody_is_emailed(networks, on_call):
    text = "not sleeping much lately"
    verdict = classify(text)
    if (verdict.action, verdict.urgent) != ("escalate", False):
        pytest.fail(f"the model no longer finds this a quiet escalation ({verdict.reason}); "
                    f"pick another text for this test")
    n = networks
    (sky,) = publish(n.schema, [n.on_bluesky])
    mail.outbox.clear()
    n.bluesky.add_reply(text, parent_uri=sky.remote_id, author="hal.example.com")
    n.bluesky.add_reply("I don't want to live anymore, nothing matters",
                        parent_uri=sky.remote_id, author="gil.example.com")
    tasks.poll_conversations()
    with in_brand(n.schema):
        items = {i.text: i for i in Item.objects.all()}
        quiet, urgent = items[text], items["I don't want to live anymore, nothing matters"]
        assert quiet.action == "escalate" and quiet.pinned and not quiet.urgent
        assert not quiet.hidden and quiet.reason.startswith("Pinned for a look")
        assert set(ModerationAction.objects.filter(item=quiet).values_list("what", flat=True)) \
            == {What.PIN}
        assert urgent.urgent and urgent.pinned
    (email,) = mail.outbox  # the urgent one only
    assert "@gil.example.com" in email.body and "hal.example.com" not in email.body


def test_when_the_model_fails_the_rules_still_answer(caplog):
    def broken():
        raise OSError("model file unreadable")

    engine.use_model(broken)
    try:
        assert classify("I know where you live").action == "hide"
        assert classify_many(["I don't want to be here anymore"])[0].action == "escalate"
    finally:
        engine.use_model(model.default_model)
    assert "the trained model failed" in caplog.text
