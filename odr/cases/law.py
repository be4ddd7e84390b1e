"""The law that governs a consumer contract, as declarative rules with the reason each gives.

PRC Law on the Application of Laws to Foreign-related Civil Relations, art. 42 (and Rome I art. 6
for the same idea): the law of the consumer's habitual residence, unless the consumer chose the
merchant's law or the merchant directs no business activity at the consumer's country.
The first rule whose condition holds decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class LawFacts:
    consumer_country: str
    merchant_country: str
    consumer_chose_merchant_law: bool
    merchant_targets_consumer_country: bool


@dataclass(frozen=True)
class LawRule:
    id: str
    applies: Callable[[LawFacts], bool]
    country: Callable[[LawFacts], str]
    reason: object


RULES = (
    LawRule(
        "consumer_chose_merchant_law",
        lambda f: f.consumer_chose_merchant_law,
        lambda f: f.merchant_country,
        _l("The consumer chose the law of the merchant's country (PRC conflict-of-laws art. 42)."),
    ),
    LawRule(
        "merchant_not_targeting_consumer_country",
        lambda f: not f.merchant_targets_consumer_country,
        lambda f: f.merchant_country,
        _l(
            "The merchant directs no business activity at the consumer's country, so the law of "
            "the merchant's country applies (PRC conflict-of-laws art. 42)."
        ),
    ),
    LawRule(
        "consumer_habitual_residence",
        lambda f: True,
        lambda f: f.consumer_country,
        _l("The law of the consumer's habitual residence (PRC conflict-of-laws art. 42)."),
    ),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}


def governing_law(facts: LawFacts) -> tuple[str, str]:
    """The governing-law country and the id of the rule that gave it."""
    for rule in RULES:
        if rule.applies(facts):
            return rule.country(facts), rule.id
    raise AssertionError("the last rule always applies")


OVERRIDE = "case_manager_override"
OVERRIDE_REASON = _l("Set by a case manager; the reason is in the timeline.")


def rule_reason(rule_id: str) -> object:
    if rule_id == OVERRIDE:
        return OVERRIDE_REASON
    rule = RULES_BY_ID.get(rule_id)
    return rule.reason if rule else rule_id
