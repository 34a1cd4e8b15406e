"""The sensitivity linter: what a careful sensitivity reviewer would raise in a post.

    from approvals.sensitivity import lint
    lint("Our insanely good roast", field="copy")   # -> [Finding(start=4, end=12, ...)]

Word rules come from ``rules.toml`` (data, versioned); a brand's own banned and preferred words
are passed as ``extra`` rules. Accessibility checks (hashtags a screen reader cannot split, ALL
CAPS runs, emoji walls, weak alt text) are code, with their wording in the same file.
"""

from approvals.sensitivity.engine import (
    CATEGORIES,
    Finding,
    Rule,
    RuleSet,
    brand_rules,
    default_rules,
    lint,
)

__all__ = ["CATEGORIES", "Finding", "Rule", "RuleSet", "brand_rules", "default_rules", "lint"]
