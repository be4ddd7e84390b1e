"""Turning the flat fields of the web forms into the same bodies the API takes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import get_locale
from werkzeug.datastructures import MultiDict

from odr import money
from odr.errors import ValidationError
from odr.i18n import minor_to_decimal_string

ITEM_ROWS = 3
LODGING_AMOUNTS = ("order.total", "claim.amount")


def _text(form: MultiDict, name: str) -> str | None:
    value = form.get(name, "")
    return value if value.strip() else None


def money_from_form(form: MultiDict, prefix: str) -> dict[str, Any] | None:
    """An amount as the API takes it. One typed so that it cannot be read goes on empty, so the
    service refuses it; `with_amount_errors` then puts the reason in place of "required"."""
    amount, currency = _text(form, f"{prefix}.amount"), _text(form, f"{prefix}.currency")
    if amount is None and currency is None:
        return None
    code = (currency or "").strip().upper()
    if amount is not None and money.is_currency(code):
        try:
            minor = money.parse_amount(amount, code, _page_locale(), f"{prefix}.amount")
        except ValidationError:
            amount = ""
        else:
            amount = minor_to_decimal_string(minor, code)
    return {"amount": amount or "", "currency": currency or ""}


def _page_locale() -> str:
    return str(get_locale() or "en")


def amount_errors(form: MultiDict, prefixes: Iterable[str]) -> dict[str, Any]:
    """Why the amounts typed in these money fields cannot be read, by field."""
    errors: dict[str, Any] = {}
    for prefix in prefixes:
        amount, currency = _text(form, f"{prefix}.amount"), _text(form, f"{prefix}.currency")
        code = (currency or "").strip().upper()
        if amount is None or not money.is_currency(code):
            continue
        try:
            money.parse_amount(amount, code, _page_locale(), f"{prefix}.amount")
        except ValidationError as error:
            errors.update(error.errors)
    return errors


def with_amount_errors(
    form: MultiDict, errors: dict[str, Any], prefixes: Iterable[str] = ("amount",)
) -> dict[str, Any]:
    """A service's errors for a web form, each unreadable amount with its own reason."""
    return {**errors, **amount_errors(form, prefixes)}


def _party(form: MultiDict, prefix: str, *, website: bool = False) -> dict[str, Any]:
    names = ["name", "email", "country", "language", "address"] + (["website"] if website else [])
    return {name: _text(form, f"{prefix}.{name}") for name in names}


def _item_rows(form: MultiDict) -> list[int]:
    """The form rows that hold an item; blank rows are left out of the body."""
    return [row for row in range(ITEM_ROWS) if _text(form, f"order.items.{row}.description")]


def lodging_body_from_form(form: MultiDict) -> dict[str, Any]:
    items = []
    for row in _item_rows(form):
        quantity = form.get(f"order.items.{row}.quantity", "1").strip() or "1"
        items.append(
            {
                "description": _text(form, f"order.items.{row}.description"),
                "quantity": int(quantity) if quantity.isdigit() else 0,
            }
        )
    body = {
        "respondent": _party(form, "respondent", website=True),
        "order": {
            "platform": _text(form, "order.platform"),
            "reference": _text(form, "order.reference"),
            "ordered_on": _text(form, "order.ordered_on"),
            "delivered_on": _text(form, "order.delivered_on"),
            "total": money_from_form(form, "order.total"),
            "items": items,
        },
        "claim": {
            "category": _text(form, "claim.category"),
            "description": _text(form, "claim.description"),
            "remedy": _text(form, "claim.remedy"),
            "amount": money_from_form(form, "claim.amount"),
        },
        "law": {
            "consumer_chose_merchant_law": form.get("law.consumer_chose_merchant_law") == "yes",
            "merchant_targets_consumer_country": form.get("law.merchant_targets_consumer_country")
            != "no",
        },
        "language": _text(form, "language"),
        "arbitration_consent": form.get("arbitration_consent") == "yes",
        "transfer_consent": form.get("transfer_consent") == "yes",
    }
    if form.get("claimant.email") is not None:
        body["claimant"] = _party(form, "claimant")
    return body


def lodging_errors_for_form(form: MultiDict, errors: dict[str, Any]) -> dict[str, Any]:
    """Name item errors by the form row the person typed in, not the index in the body, and say
    why an amount could not be read."""
    rows = _item_rows(form)
    named = {}
    for field, message in errors.items():
        parts = field.split(".")
        if field.startswith("order.items.") and len(parts) > 2 and parts[2].isdigit():
            parts[2] = str(rows[int(parts[2])])
        named[".".join(parts)] = message
    return with_amount_errors(form, named, LODGING_AMOUNTS)


def offer_body_from_form(form: MultiDict) -> dict[str, Any]:
    return {
        "amount": money_from_form(form, "amount"),
        "remedy": _text(form, "remedy"),
        "terms": _text(form, "terms"),
        "performance_due": _text(form, "performance_due"),
    }


def action_params_from_form(spec: dict[str, Any], form: MultiDict) -> dict[str, Any]:
    """The declared parameters of a workflow action, read from its web form."""
    params: dict[str, Any] = {}
    for name in spec.get("params", []):
        if name == "amount":
            params[name] = money_from_form(form, "amount")
        elif _text(form, name) is not None:
            params[name] = form[name]
    return params


def message_params_from_form(form: MultiDict) -> dict[str, Any]:
    """A message form's fields as `post_message` takes them: the text as typed, and the channel
    a party chose or the party a mediator writes to (empty: the joint channel)."""
    params: dict[str, Any] = {"body": form.get("body", "")}
    for name in ("channel", "party"):
        if _text(form, name) is not None:
            params[name] = form[name]
    return params
