"""The linter as the brand's staff meet it: default rules plus the brand's own words."""

from __future__ import annotations

import functools

from approvals.records import BrandTerm
from approvals.sensitivity import RuleSet, brand_rules, default_rules, lint


def brand_ruleset() -> RuleSet:
    """Default rules with the active brand's banned and preferred words (one query)."""
    terms = tuple(BrandTerm.objects.values_list("term", "replacement", "note"))
    return _with_brand_terms(terms) if terms else default_rules()


@functools.lru_cache(maxsize=256)
def _with_brand_terms(terms: tuple) -> RuleSet:
    # The editor lints as people type: compile a brand's words once, not on every keystroke.
    return default_rules() + brand_rules(terms, version=f"brand-{len(terms)}")


def post_findings(copy: str, alt_texts: list[str], rules: RuleSet | None = None) -> dict:
    """Findings for a post's copy and each of its images' alt text, as plain data."""
    rules = rules or brand_ruleset()
    return {
        "copy": [f.as_dict() for f in lint(copy, field="copy", rules=rules)],
        "alt_texts": [[f.as_dict() for f in lint(alt, field="alt_text", rules=rules)]
                      for alt in alt_texts],
    }
