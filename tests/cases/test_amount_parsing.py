"""Amounts as people type them in the web forms: read in the page's language, refused with a
reason when unclear, and a typed currency sign that contradicts the chosen currency is an error."""

from __future__ import annotations

import pytest

from odr.errors import ValidationError
from odr.money import parse_amount


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


def error_of(text: str, currency: str, locale: str, field: str = "claim.amount.amount") -> str:
    with pytest.raises(ValidationError) as refused:
        parse_amount(text, currency, locale, field)
    assert list(refused.value.errors) == [field]
    return str(refused.value.errors[field])


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    ("typed", "currency", "locale", "minor"),
    [
        ("1299.50", "EUR", "en", 129950),
        ("1,299.50", "EUR", "en", 129950),
        ("1,299.50", "EUR", "zh_Hans", 129950),
        ("1,299.50", "EUR", "de", 129950),  # both marks: the last one is the decimal one
        ("1.299,50", "EUR", "de", 129950),
        ("1.299,50", "EUR", "en", 129950),
        ("1299,50", "EUR", "de", 129950),
        ("1299,50", "EUR", "en", 129950),  # a comma before two digits can only be decimals
        ("1 299,50", "EUR", "fr", 129950),
        ("1\u202f299,50", "EUR", "fr", 129950),  # what a French keyboard layout types
        ("1'299.50", "CHF", "de_CH", 129950),
        ("1,299", "EUR", "en", 129900),  # English groups thousands with the comma
        ("1,299", "CNY", "zh_Hans", 129900),
        ("1.299", "EUR", "de", 129900),  # German groups them with the point
        ("1,299,000", "EUR", "de", 129900000),  # a mark used twice only groups
        ("89,-", "EUR", "de", 8900),
        ("€ 89", "EUR", "en", 8900),
        ("€89", "EUR", "de", 8900),
        ("89 €", "EUR", "fr", 8900),
        ("89 EUR", "EUR", "en", 8900),
        ("89 eur", "EUR", "en", 8900),
        ("¥1299", "CNY", "zh_Hans", 129900),
        ("¥1299", "JPY", "en", 1299),
        ("￥1299", "CNY", "zh_Hans", 129900),
        ("１２９９", "CNY", "zh_Hans", 129900),  # full-width digits from a Chinese input method
        ("１，２９９．５０", "CNY", "zh_Hans", 129950),
        ("１２９９元", "CNY", "zh_Hans", 129900),
        ("1299 元", "CNY", "en", 129900),
        ("CN¥1299", "CNY", "en", 129900),
        ("RMB 1,299", "CNY", "en", 129900),
        ("1299 RMB", "CNY", "de", 129900),
        ("US$ 25.99", "USD", "en", 2599),
        ("$25.99", "USD", "en", 2599),
        ("NT$ 300", "TWD", "zh_Hant", 30000),
        ("300 kr", "SEK", "en", 30000),
        ("1,299", "KWD", "de", 1299),  # three decimal places: the German comma is decimals
        ("0,5", "EUR", "de", 50),
        ("-5", "EUR", "en", -500),  # read; "must be more than zero" is the service's to say
    ],
)
def test_what_people_type_is_read(typed, currency, locale, minor):
    assert parse_amount(typed, currency, locale, "amount.amount") == minor


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    ("typed", "chosen", "locale"),
    [
        ("€ 89", "CNY", "en"),
        ("€ 89", "CNY", "zh_Hans"),
        ("¥1299", "EUR", "de"),
        ("US$ 10", "CNY", "zh_Hans"),
        ("CN¥ 10", "JPY", "en"),
        ("10 RMB", "USD", "en"),
        ("10元", "EUR", "zh_Hans"),
        ("10 GBP", "EUR", "en"),
    ],
)
def test_a_sign_that_contradicts_the_chosen_currency_is_an_error_naming_the_field(
    typed, chosen, locale
):
    message = error_of(typed, chosen, locale)
    assert chosen in message


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    ("typed", "currency", "locale"),
    [
        ("1,299", "EUR", "de"),  # German reads a decimal comma, three places EUR does not have
        ("1.299", "EUR", "en"),
        ("1.299", "CNY", "zh_Hans"),
        ("1.299", "EUR", "fr"),  # French uses neither mark for thousands
        ("1,299", "EUR", "fr"),
    ],
)
def test_a_mark_before_three_digits_the_language_does_not_group_with_is_unclear(
    typed, currency, locale
):
    message = error_of(typed, currency, locale, "order.total.amount")
    assert typed in message and "thousands" in message


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    ("typed", "currency", "locale", "example"),
    [
        ("abc", "EUR", "en", "1,299.50"),
        ("abc", "EUR", "de", "1.299,50"),
        ("12 34", "EUR", "en", "1,299.50"),  # a space groups thousands only
        ("1,2999.50", "EUR", "en", "1,299.50"),
        ("12 EUR 5", "EUR", "en", "1,299.50"),
        ("€", "EUR", "en", "1,299.50"),
        ("1e3", "EUR", "en", "1,299.50"),
        ("12 bananas", "EUR", "en", "1,299.50"),
        ("1" * 70, "EUR", "en", "1,299.50"),
    ],
)
def test_what_is_not_an_amount_is_refused_with_an_example_in_the_pages_language(
    typed, currency, locale, example
):
    assert example in error_of(typed, currency, locale)


@pytest.mark.usefixtures("request_context")
def test_more_decimals_than_the_currency_has_are_refused():
    assert "2" in error_of("12,3456", "EUR", "de")
    assert "JPY" in error_of("1299.5", "JPY", "en")
    assert error_of("  ", "EUR", "en") == "This field is required."
