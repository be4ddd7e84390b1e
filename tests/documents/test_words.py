"""Amounts in words: known amounts per language, the errors, and the Chinese zero rules proven by
reading the capitals back with a parser of their own."""

from __future__ import annotations

from itertools import pairwise

import pytest
from babel.numbers import get_currency_name, get_currency_precision
from hypothesis import given
from hypothesis import strategies as st

from odr.documents.words import amount_in_words

CHINESE_CASES = [
    # (amount in minor units, currency, language, words)
    (0, "CNY", "zh_Hans", "人民币零元整"),
    (100, "CNY", "zh_Hans", "人民币壹元整"),
    (1000, "CNY", "zh_Hans", "人民币壹拾元整"),
    (1100, "CNY", "zh_Hans", "人民币壹拾壹元整"),
    (1500, "CNY", "zh_Hans", "人民币壹拾伍元整"),
    (2000, "CNY", "zh_Hans", "人民币贰拾元整"),
    (2100, "CNY", "zh_Hans", "人民币贰拾壹元整"),
    (10000, "CNY", "zh_Hans", "人民币壹佰元整"),
    (10100, "CNY", "zh_Hans", "人民币壹佰零壹元整"),
    (11000, "CNY", "zh_Hans", "人民币壹佰壹拾元整"),
    (1_000_00, "CNY", "zh_Hans", "人民币壹仟元整"),
    (1_001_00, "CNY", "zh_Hans", "人民币壹仟零壹元整"),
    (1_005_00, "CNY", "zh_Hans", "人民币壹仟零伍元整"),
    (1_290_00, "CNY", "zh_Hans", "人民币壹仟贰佰玖拾元整"),
    (10_000_00, "CNY", "zh_Hans", "人民币壹万元整"),
    (10_050_00, "CNY", "zh_Hans", "人民币壹万零伍拾元整"),
    (100_000_00, "CNY", "zh_Hans", "人民币壹拾万元整"),
    (1_000_000_00, "CNY", "zh_Hans", "人民币壹佰万元整"),
    (1_000_010_00, "CNY", "zh_Hans", "人民币壹佰万零壹拾元整"),
    (10_000_000_00, "CNY", "zh_Hans", "人民币壹仟万元整"),
    (100_000_000_00, "CNY", "zh_Hans", "人民币壹亿元整"),
    (100_000_001_00, "CNY", "zh_Hans", "人民币壹亿零壹元整"),
    (100_010_000_00, "CNY", "zh_Hans", "人民币壹亿零壹万元整"),
    (1_070_000_000_00, "CNY", "zh_Hans", "人民币壹拾亿柒仟万元整"),
    (31_789_001_000_00, "CNY", "zh_Hans", "人民币叁佰壹拾柒亿捌仟玖佰万壹仟元整"),
    (100_001_000_00, "CNY", "zh_Hans", "人民币壹亿零壹仟元整"),
    (20_300_000_000_000_00, "CNY", "zh_Hans", "人民币贰拾万叁仟亿元整"),
    (10_000_010_000_000_00, "CNY", "zh_Hans", "人民币壹拾万亿零壹仟万元整"),
    (123_456_789_01, "CNY", "zh_Hans", "人民币壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零壹分"),
    (
        999_999_999_999_00,
        "CNY",
        "zh_Hans",
        "人民币玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元整",
    ),
    (1_000_000_000_000_00, "CNY", "zh_Hans", "人民币壹万亿元整"),
    (5, "CNY", "zh_Hans", "人民币伍分"),
    (50, "CNY", "zh_Hans", "人民币伍角整"),
    (55, "CNY", "zh_Hans", "人民币伍角伍分"),
    (105, "CNY", "zh_Hans", "人民币壹元零伍分"),
    (1005, "CNY", "zh_Hans", "人民币壹拾元零伍分"),
    (1_290_50, "CNY", "zh_Hans", "人民币壹仟贰佰玖拾元零伍角整"),
    # The examples of the PBOC rules (《正确填写票据和结算凭证的基本规定》), first form where two.
    (1_409_50, "CNY", "zh_Hans", "人民币壹仟肆佰零玖元伍角整"),
    (6_007_14, "CNY", "zh_Hans", "人民币陆仟零柒元壹角肆分"),
    (1_680_32, "CNY", "zh_Hans", "人民币壹仟陆佰捌拾元零叁角贰分"),
    (107_000_53, "CNY", "zh_Hans", "人民币壹拾万柒仟元零伍角叁分"),
    (16_409_02, "CNY", "zh_Hans", "人民币壹万陆仟肆佰零玖元零贰分"),
    (325_04, "CNY", "zh_Hans", "人民币叁佰贰拾伍元零肆分"),
    (129_90, "EUR", "zh_Hans", "欧元壹佰贰拾玖元玖角整"),
    (100_05, "USD", "zh_Hans", "美元壹佰元零伍分"),
    (2000, "JPY", "zh_Hans", "日元贰仟元整"),
    (0, "JPY", "zh_Hans", "日元零元整"),
    (5125, "KWD", "zh_Hans", "科威特第纳尔伍点壹贰伍元"),
    (5000, "KWD", "zh_Hans", "科威特第纳尔伍元整"),
    (5, "KWD", "zh_Hans", "科威特第纳尔零点零零伍元"),
    (123_456_789_01, "CNY", "zh_Hant", "人民幣壹億貳仟參佰肆拾伍萬陸仟柒佰捌拾玖元零壹分"),
    (10_050_00, "CNY", "zh_Hant", "人民幣壹萬零伍拾元整"),
    (100_000_000_00, "CNY", "zh_Hant", "人民幣壹億元整"),
    (105, "CNY", "zh_Hant", "人民幣壹元零伍分"),
    (129_90, "EUR", "zh_Hant", "歐元壹佰貳拾玖元玖角整"),
    (2000, "JPY", "zh_Hant", "日圓貳仟元整"),
    (5125, "KWD", "zh_Hant", "科威特第納爾伍點壹貳伍元"),
]

ENGLISH_CASES = [
    (0, "EUR", "zero euros"),
    (100, "EUR", "one euro"),
    (101, "EUR", "one euro and one cent"),
    (1, "EUR", "zero euros and one cent"),
    (1000, "EUR", "ten euros"),
    (1100, "EUR", "eleven euros"),
    (1500, "EUR", "fifteen euros"),
    (2000, "EUR", "twenty euros"),
    (2100, "EUR", "twenty-one euros"),
    (9900, "EUR", "ninety-nine euros"),
    (10000, "EUR", "one hundred euros"),
    (10100, "EUR", "one hundred one euros"),
    (11000, "EUR", "one hundred ten euros"),
    (129_90, "EUR", "one hundred twenty-nine euros and ninety cents"),
    (1_000_00, "EUR", "one thousand euros"),
    (1_001_00, "EUR", "one thousand one euros"),
    (10_000_00, "EUR", "ten thousand euros"),
    (100_000_00, "EUR", "one hundred thousand euros"),
    (1_000_000_00, "EUR", "one million euros"),
    (1_000_010_00, "EUR", "one million ten euros"),
    (10_000_000_00, "EUR", "ten million euros"),
    (100_000_000_00, "EUR", "one hundred million euros"),
    (
        123_456_789_01,
        "EUR",
        "one hundred twenty-three million four hundred fifty-six thousand seven hundred "
        "eighty-nine euros and one cent",
    ),
    (
        999_999_999_999_00,
        "EUR",
        "nine hundred ninety-nine billion nine hundred ninety-nine million nine hundred "
        "ninety-nine thousand nine hundred ninety-nine euros",
    ),
    (1_000_000_000_000_00, "USD", "one trillion US dollars"),
    (5, "USD", "zero US dollars and five cents"),
    (101, "GBP", "one British pound and one penny"),
    (250, "GBP", "two British pounds and fifty pence"),
    (105, "CNY", "one Chinese yuan and five fen"),
    (1_290_00, "CNY", "one thousand two hundred ninety Chinese yuan"),
    (1050, "CHF", "ten Swiss francs and fifty centimes"),
    (350, "AED", "three UAE dirhams and 50/100"),
    (305, "AED", "three UAE dirhams and 05/100"),
    (2000, "JPY", "two thousand Japanese yen"),
    (1, "JPY", "one Japanese yen"),
    (5125, "KWD", "five Kuwaiti dinars and 125/1000"),
    (1005, "KWD", "one Kuwaiti dinar and 005/1000"),
    (5000, "KWD", "five Kuwaiti dinars"),
]


@pytest.mark.parametrize(("amount_minor", "currency", "language", "words"), CHINESE_CASES)
def test_chinese_amounts_are_written_in_capitals(amount_minor, currency, language, words):
    assert amount_in_words(amount_minor, currency, language) == words


@pytest.mark.parametrize(("amount_minor", "currency", "words"), ENGLISH_CASES)
def test_english_amounts_are_written_in_words(amount_minor, currency, words):
    assert amount_in_words(amount_minor, currency, "en") == words


def test_negative_amount_is_refused():
    with pytest.raises(ValueError, match="negative"):
        amount_in_words(-1, "EUR", "en")


@pytest.mark.parametrize("language", ["fr", "zh", "zh_CN", "EN", ""])
def test_unknown_language_is_refused_by_name(language):
    with pytest.raises(ValueError, match=repr(language)):
        amount_in_words(100, "EUR", language)


@pytest.mark.parametrize("currency", ["XYZ", "eur", ""])
def test_unknown_currency_is_refused_by_name(currency):
    with pytest.raises(ValueError, match=repr(currency)):
        amount_in_words(100, currency, "en")


# A reader of capitals of its own: it shares nothing with the module but the characters.
DIGITS = {
    char: value
    for chars in ("零壹贰叁肆伍陆柒捌玖", "零壹貳參肆伍陸柒捌玖")
    for value, char in enumerate(chars)
}
PLACES = {"拾": 10, "佰": 100, "仟": 1000}
WAN, YI = set("万萬"), set("亿億")
FRACTION_PLACES = {"角": 10, "分": 1}
BABEL_LOCALES = {"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW"}


def read_capitals(words: str) -> int:
    """The amount in hundredths that 元/角/分 capitals name."""
    total = section = digit = 0
    yuan = hundredths = 0
    for char in words:
        if char in DIGITS:
            digit = DIGITS[char]
        elif char in PLACES:
            section, digit = section + digit * PLACES[char], 0
        elif char in WAN:
            section, digit = (section + digit) * 10**4, 0
        elif char in YI:
            total, section, digit = (total + section + digit) * 10**8, 0, 0
        elif char == "元":
            yuan, total, section, digit = total + section + digit, 0, 0, 0
        elif char in FRACTION_PLACES:
            hundredths, digit = hundredths + digit * FRACTION_PLACES[char], 0
        else:
            assert char == "整", f"unexpected {char!r} in {words}"
    return yuan * 100 + hundredths


def zeros_between_digits(words: str) -> list[int]:
    """How many 零 the words write between each two non-zero digits, in order."""
    counts, zeros, seen_digit = [], 0, False
    for char in words:
        if char == "零":
            zeros += 1
        elif DIGITS.get(char):
            if seen_digit:
                counts.append(zeros)
            assert seen_digit or zeros == 0, f"a leading 零 in {words}"
            seen_digit, zeros = True, 0
    assert zeros == 0, f"a trailing 零 in {words}"
    return counts


def zeros_expected(amount_minor: int) -> list[int]:
    """The zero rules on digit positions (10**0 is the 元): one 零 for every gap between two
    non-zero digits, unless the gap only ends a group of four (closed by 万 or 亿) and the next
    digit is the 仟 of the group below."""
    text = str(amount_minor)
    exponents = [len(text) - 3 - index for index, char in enumerate(text) if char != "0"]
    expected = []
    for higher, lower in pairwise(exponents):
        gap = range(lower + 1, higher)
        ends_a_group = lower >= 3 and lower % 4 == 3 and higher // 4 == (lower + 1) // 4
        expected.append(1 if gap and not ends_a_group else 0)
    return expected


@given(
    amount_minor=st.integers(min_value=1, max_value=10**16)
    | st.builds(lambda n, k: n * 10**k, st.integers(1, 999), st.integers(0, 14)),
    currency=st.sampled_from(["CNY", "EUR", "USD"]),
    language=st.sampled_from(["zh_Hans", "zh_Hant"]),
)
def test_chinese_capitals_read_back_to_the_amount(amount_minor, currency, language):
    name = get_currency_name(currency, locale=BABEL_LOCALES[language])
    words = amount_in_words(amount_minor, currency, language)
    assert words.startswith(name)
    capitals = words.removeprefix(name)
    assert read_capitals(capitals) == amount_minor
    assert zeros_between_digits(capitals) == zeros_expected(amount_minor)
    assert capitals.endswith("分" if amount_minor % 10 else "整")


@given(
    amount_minor=st.integers(min_value=0, max_value=10**9),
    language=st.sampled_from(["zh_Hans", "zh_Hant"]),
)
def test_yen_capitals_read_back_to_the_amount(amount_minor, language):
    words = amount_in_words(amount_minor, "JPY", language)
    name = get_currency_name("JPY", locale=BABEL_LOCALES[language])
    assert read_capitals(words.removeprefix(name)) == amount_minor * 100
    assert words.endswith("元整")


@given(
    amount_minor=st.integers(min_value=0, max_value=10**18),
    currency=st.sampled_from(["EUR", "USD", "GBP", "CNY", "CHF", "JPY", "KWD", "AED", "CLF"]),
)
def test_english_words_are_clean(amount_minor, currency):
    words = amount_in_words(amount_minor, currency, "en")
    assert "  " not in words
    assert words == words.strip()
    assert not words.endswith(" and")
    assert words.split().count("and") == (
        1 if amount_minor % 10 ** get_currency_precision(currency) else 0
    )
