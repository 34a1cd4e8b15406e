"""Safe spaces: what to do with a comment under a brand's post.

    from campaigns.conversations.moderation import classify
    classify("damn good coffee")            # -> Verdict(action="none", categories=["praise"], ...)
    classify("I know where you live")       # -> Verdict(action="hide", categories=["threat"], ...)

Actions: hide (abuse, hate, threat, sexual_harassment, doxxing, spam, scam), escalate (self_harm,
domestic_violence, product_injury, medical_emergency; a person at risk is never hidden), reply
(question, complaint, criticism) and none (praise, chatter). Rules are data in ``rules.toml``;
a trained model (``model.py``) gives a second opinion, so that safety wins; labelled sets for
training and judging them are in ``eval/``.
"""

# The trained model registers itself as the engine's second opinion when it is imported.
from campaigns.conversations.moderation import model  # noqa: F401
from campaigns.conversations.moderation.engine import (
    ACTIONS,
    CATEGORIES,
    Rule,
    RuleSet,
    Verdict,
    classify,
    classify_many,
    default_rules,
)

__all__ = ["ACTIONS", "CATEGORIES", "Rule", "RuleSet", "Verdict", "classify", "classify_many",
           "default_rules"]
