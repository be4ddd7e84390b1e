"""The labels of the web forms' fields, by the key their errors carry.

An error names a field by the path the service read it under (`claim.amount.amount`); a person
knows it by the label beside the control ("Amount you claim"). The error summary at the top of a
page and the flash after an action name fields from here, so they never show an internal name;
the lodging form takes its labels from here too, so both say the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


class FormLabels(dict):
    """A form's labels by error key. `targets` names the control an error's link goes to where
    that is not the key itself: a money field's amount box, a field whose id differs from its
    name."""

    def __init__(self, labels: Mapping[str, Any], targets: Mapping[str, str] | None = None):
        super().__init__(labels)
        self.targets = dict(targets or {})

    def __or__(self, other: Mapping[str, Any]) -> FormLabels:
        targets = {**self.targets, **getattr(other, "targets", {})}
        return FormLabels({**self, **other}, targets)

    def target(self, key: str) -> str:
        return self.targets.get(key, key)


@dataclass(frozen=True)
class Problem:
    """One entry of an error summary: the message, and the field's label and control if known."""

    message: str
    label: str | None = None
    target: str | None = None


def _key_known(key: str, labels: Mapping[str, Any]) -> str | None:
    """The key itself if it has a label, or the nearest enclosing one (`order.items.7.quantity`
    goes to `order.items`)."""
    parts = key.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in labels:
            return candidate
        parts.pop()
    return None


def problems(errors: Mapping[str, Any], labels: FormLabels) -> list[Problem]:
    found = []
    for key, message in errors.items():
        if isinstance(message, Mapping):  # a form's errors nested under its name
            found += problems(message, labels)
            continue
        known = _key_known(key, labels)
        if known is None:
            found.append(Problem(str(message)))
        else:
            found.append(Problem(str(message), str(labels[known]), labels.target(known)))
    return found


def label_for(key: str, labels: FormLabels) -> str | None:
    known = _key_known(key, labels)
    return str(labels[known]) if known else None


def _money(prefix: str, label: Any) -> tuple[dict[str, Any], dict[str, str]]:
    labels = {prefix: label, f"{prefix}.amount": label, f"{prefix}.currency": label}
    return labels, {prefix: f"{prefix}.amount"}


def _lodging() -> FormLabels:
    labels: dict[str, Any] = {
        "claimant.name": _l("Name"),
        "claimant.email": _l("E-mail address"),
        "claimant.country": _l("Country"),
        "claimant.language": _l("Language"),
        "respondent.name": _l("Merchant's name"),
        "respondent.email": _l("Merchant's e-mail address"),
        "respondent.country": _l("Merchant's country"),
        "respondent.language": _l("Merchant's language"),
        "respondent.website": _l("Merchant's website"),
        "respondent.address": _l("Merchant's postal address"),
        "order.platform": _l("Where did you buy it (shop or platform)?"),
        "order.reference": _l("Order number"),
        "order.ordered_on": _l("Order date"),
        "order.delivered_on": _l("Delivery date"),
        "order.items": _l("Item %(number)d", number=1),
        "claim.category": _l("What went wrong?"),
        "claim.description": _l("Describe what happened"),
        "claim.remedy": _l("What would put it right?"),
        "language": _l("Your language for this dispute"),
    }
    targets = {"order.items": "order.items.0.description"}
    for row in range(3):
        labels[f"order.items.{row}.description"] = _l("Item %(number)d", number=row + 1)
        labels[f"order.items.{row}.quantity"] = _l("Quantity")
    for prefix, label in (
        ("order.total", _l("Order total")),
        ("claim.amount", _l("Amount you claim")),
    ):
        money_labels, money_targets = _money(prefix, label)
        labels |= money_labels
        targets |= money_targets
    return FormLabels(labels, targets)


NONE = FormLabels({})
LODGING = _lodging()

_amount_labels, _amount_targets = _money("amount", _l("Amount"))
OFFER = FormLabels(
    {
        **_amount_labels,
        "remedy": _l("Remedy"),
        "terms": _l("Terms"),
        "performance_due": _l("To be performed by"),
    },
    _amount_targets,
)
MESSAGES = FormLabels(
    {
        "message-body": _l("Your message"),
        "message-channel": _l("To"),
        "note-body": _l("A private note (only you see it)"),
    }
)
EVIDENCE = FormLabels(
    {"file": _l("Add files"), "caption": _l("Caption (optional)")},
    {"file": "evidence-file", "caption": "evidence-caption"},
)
DISPUTE = OFFER | MESSAGES | EVIDENCE
"""Every form of the dispute page whose errors come back on the page (not as a flash)."""

ACTION = FormLabels(
    {
        **_amount_labels,
        "remedy": _l("Remedy"),
        "terms": _l("Terms"),
        "reasons": _l("Reasons"),
        "reason": _l("Reason"),
        "note": _l("Note"),
        "body": _l("Your statement"),
        "performance_due": _l("To be performed by"),
        "country": _l("Country whose law governs"),
        "neutral_id": _l("New mediator or arbitrator"),
    }
)
"""The parameters of a workflow action's form, as the flash after a refused action names them."""

SIGNUP = FormLabels(
    {
        "role": _l("I am"),
        "name": _l("Your name (or your company's)"),
        "email": _l("E-mail address"),
        "country": _l("Country"),
        "language": _l("Language"),
        "timezone": _l("Time zone"),
        "password": _l("Password"),
        "terms": _l("I accept the terms of use and the privacy notice of the ODR service."),
    },
    {"role": "role-consumer"},
)
LOGIN = FormLabels({"email": _l("E-mail address"), "password": _l("Password")})
NEW_PASSWORD = FormLabels(
    {"new_password": _l("New password"), "confirm_password": _l("The new password again")}
)
VERIFY = FormLabels({"password": _l("The password of this account")})
ACCOUNT = {
    "password": FormLabels({"password": _l("Current password")}) | NEW_PASSWORD,
    "email": FormLabels(
        {"new_email": _l("New e-mail address"), "password": _l("Current password")},
        {"password": "email-password"},
    ),
    "token": FormLabels(
        {
            "name": _l("Token name"),
            "scopes": _l("What the token may do"),
            "expires_on": _l("Expires on"),
        },
        {"name": "token-name"},
    ),
    "staff": FormLabels(
        {"email": _l("Their e-mail address"), "name": _l("Their name")},
        {"email": "staff-email", "name": "staff-name"},
    ),
}
"""The forms of the account page, by the name its view gives each form's errors."""

REFERRAL = FormLabels(
    {
        "partner_reference": _l("Your own reference for it"),
        "reason": _l("Reason"),
        "status": _l("Status code"),
        "note": _l("Note"),
        "outcome": _l("Outcome"),
        "summary": _l("Summary for the parties"),
        **_amount_labels,
        "document": _l("Your decision or settlement as a PDF"),
    },
    {"amount": "amount", "amount.amount": "amount", "amount.currency": "amount-currency"},
)
"""The partner portal's forms on a referral."""

NEW_STAFF_USER = FormLabels(
    {
        "role": _l("Role"),
        "name": _l("Name"),
        "email": _l("E-mail address"),
        "country": _l("Country"),
        "language": _l("Language of the account"),
        "languages": _l("Languages spoken"),
        "caseload_ceiling": _l("Caseload ceiling (open cases at most)"),
        "conflicts": _l(
            "Declared conflicts (merchant names, e-mail addresses or domains, one per line)"
        ),
    },
    {"languages": "languages-en"},
)
NEW_PARTNER = FormLabels(
    {
        "name": _l("Name of the agency"),
        "countries": _l("Countries whose law it covers"),
        "languages": _l("Languages it works in"),
        "webhook_url": _l("Webhook URL"),
        "legal_basis": _l("Legal basis for receiving personal data from abroad"),
        "email": _l("E-mail address of the agency's first user"),
    }
)
