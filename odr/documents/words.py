"""Amounts in words, as a settlement agreement or an award prints them beside the figures.

English (American style, as on cheques):
- The integer part is always written, even when zero, followed by the currency's English name from
  Babel in the number that fits it: "zero euros", "one euro", "two thousand Japanese yen".
- No "and" inside a number; hyphens from twenty-one to ninety-nine; scale words thousand, million,
  billion, trillion, quadrillion, quintillion (a larger count of quintillions is spelled out).
- A non-zero fraction follows after "and". For the few currencies whose minor unit has a common
  English name (`MINOR_UNITS`: cents, pence, fen, centimes) it is written in words: "one hundred
  twenty-nine euros and ninety cents". Babel names no minor units, so every other currency gets the
  cheque form, the numerator padded to the currency's digits: "five Kuwaiti dinars and 125/1000".

Chinese, the capital numerals (大写) of the People's Bank of China's rules for filling in bills and
settlement vouchers (《支付结算办法》附件一《正确填写票据和结算凭证的基本规定》):
- Digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟, groups 万 and 亿 (Traditional: 零壹貳參肆伍陸柒捌玖,
  萬, 億). A 拾 always has its digit: 10 is 壹拾, 100,000 is 壹拾万.
- The main unit is 元 in both scripts (the unit the RMB regulations name; 圓 is only accepted).
- Every amount starts with the currency's Chinese name from Babel, as the rules require "人民币"
  before the capitals and as Chinese banks write foreign-currency amounts: 人民币壹仟贰佰玖拾元整,
  欧元壹佰贰拾玖元玖角整, 日元贰仟元整. 元 is the generic word for a currency's main unit (as in
  美元, 欧元, 日元 themselves), so a foreign amount reads exactly like an RMB one.
- Currencies with two minor digits write 角 (tenths) and 分 (hundredths); 整 follows 元 or 角 when
  nothing comes after (the rules allow it after 角 and it closes the amount against an added 分),
  never 分. Without a 元 part the amount starts at 角 or 分: 0.05 is 伍分; zero is 零元整.
- Above 9999 亿 the count of 亿 is itself written with 万: 10**12 is 壹万亿.
- One 零 stands for a run of zeros between two non-zero digits (1,005 壹仟零伍; 6,007.14
  陆仟零柒元壹角肆分; 10,050 壹万零伍拾; 1,000,010 壹佰万零壹拾; 100,001,000 壹亿零壹仟), except
  a run that only ends a group of four digits, closed by its 万 or 亿, before the next group's 仟
  (107,000 壹拾万柒仟; 31,789,001,000 叁佰壹拾柒亿捌仟玖佰万壹仟).
- After 元, a 零 is written whenever the 元 digit or the 角 is zero and a fraction follows
  (1.05 壹元零伍分; 1,680.32 壹仟陆佰捌拾元零叁角贰分): the rules require it when the 角 is
  zero; when only the 元 digit is, they allow the 零 or none, and this is the first form they
  show (107,000.53 壹拾万柒仟元零伍角叁分).
- Currencies with other minor digits (KWD, BHD, CLF...) have no 角/分: the fraction is written digit
  by digit after 点 (點), then 元: 科威特第纳尔伍点壹贰伍元; without a fraction 科威特第纳尔伍元整.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import get_currency_name

from odr.money import is_currency, precision

LANGUAGES = ("en", "zh_Hans", "zh_Hant")

MINOR_UNITS = {
    **dict.fromkeys(("EUR", "USD", "AUD", "CAD", "HKD", "NZD", "SGD"), ("cent", "cents")),
    "GBP": ("penny", "pence"),
    "CNY": ("fen", "fen"),
    "CHF": ("centime", "centimes"),
}

_ONES = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = (
    (10**18, "quintillion"),
    (10**15, "quadrillion"),
    (10**12, "trillion"),
    (10**9, "billion"),
    (10**6, "million"),
    (10**3, "thousand"),
)


@dataclass(frozen=True)
class _Script:
    locale: str
    digits: str
    wan: str
    yi: str
    point: str
    places: tuple[str, ...] = ("", "拾", "佰", "仟")


_SCRIPTS = {
    "zh_Hans": _Script("zh_Hans_CN", "零壹贰叁肆伍陆柒捌玖", "万", "亿", "点"),
    "zh_Hant": _Script("zh_Hant_TW", "零壹貳參肆伍陸柒捌玖", "萬", "億", "點"),
}


def amount_in_words(amount_minor: int, currency: str, language: str) -> str:
    """`amount_minor` minor units of `currency` in words, in `language` (en, zh_Hans, zh_Hant)."""
    if language not in LANGUAGES:
        raise ValueError(f"Amounts in words exist in en, zh_Hans and zh_Hant, not {language!r}.")
    if not is_currency(currency):
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code Babel knows.")
    if amount_minor < 0:
        raise ValueError(f"An amount in words cannot be negative: {amount_minor}.")
    digits = precision(currency)
    major, minor = divmod(amount_minor, 10**digits)
    if language == "en":
        return _english(major, minor, digits, currency)
    return _chinese(major, minor, digits, currency, _SCRIPTS[language])


def _english(major: int, minor: int, digits: int, currency: str) -> str:
    text = f"{_english_number(major)} {get_currency_name(currency, count=major, locale='en')}"
    if not minor:
        return text
    if currency in MINOR_UNITS:
        singular, plural = MINOR_UNITS[currency]
        return f"{text} and {_english_number(minor)} {singular if minor == 1 else plural}"
    return f"{text} and {minor:0{digits}d}/{10**digits}"


def _english_number(number: int) -> str:
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {_english_number(rest)}" if rest else "")
    size, word = next((size, word) for size, word in _SCALES if number >= size)
    count, rest = divmod(number, size)
    return f"{_english_number(count)} {word}" + (f" {_english_number(rest)}" if rest else "")


def _chinese(major: int, minor: int, digits: int, currency: str, script: _Script) -> str:
    name = get_currency_name(currency, locale=script.locale)
    if digits == 2:
        return name + _yuan_jiao_fen(major, minor, script)
    return name + _yuan_point(major, minor, digits, script)


def _yuan_jiao_fen(major: int, minor: int, script: _Script) -> str:
    if not major and not minor:
        return f"{script.digits[0]}元整"
    jiao, fen = divmod(minor, 10)
    text = f"{_chinese_number(major, script)}元" if major else ""
    if major and minor and (major % 10 == 0 or jiao == 0):
        text += script.digits[0]
    if jiao:
        text += f"{script.digits[jiao]}角"
    return text + (f"{script.digits[fen]}分" if fen else "整")


def _yuan_point(major: int, minor: int, digits: int, script: _Script) -> str:
    integer = _chinese_number(major, script) if major else script.digits[0]
    if not minor:
        return f"{integer}元整"
    fraction = "".join(script.digits[int(digit)] for digit in f"{minor:0{digits}d}")
    return f"{integer}{script.point}{fraction}元"


def _chinese_number(number: int, script: _Script) -> str:
    """A positive integer in capitals: what stands above 亿, then 亿, then the same with 万.

    A 零 joins the two parts when the zeros between them are more than the end of one group:
    the lower part lacks its leading digit, or (from 万亿 up) the higher part ends in an empty
    group.
    """
    for size, word in ((10**8, script.yi), (10**4, script.wan)):
        if number >= size:
            high, low = divmod(number, size)
            text = _chinese_number(high, script) + word
            if not low:
                return text
            skips_a_group = low < size // 10 or high % 10**4 == 0
            return text + (script.digits[0] if skips_a_group else "") + _chinese_number(low, script)
    return _chinese_group(number, script)


def _chinese_group(number: int, script: _Script) -> str:
    text, zeros_behind = "", False
    for place in (3, 2, 1, 0):
        digit = number // 10**place % 10
        if not digit:
            zeros_behind = bool(text)
            continue
        if zeros_behind:
            text += script.digits[0]
        text += script.digits[digit] + script.places[place]
        zeros_behind = False
    return text
