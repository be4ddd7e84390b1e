"""JSON written fast (orjson), read back as the standard library would read it.

orjson writes what `json.dumps` writes for the values the platform stores (text, numbers,
lists, objects; keys that are not text become text), in a fraction of the time. What it refuses,
an integer past 64 bits, goes to the standard library, which writes it, or refuses with its
usual error. Hashed JSON does not come from here: `odr.audit.canonical_json` stays byte for byte
what it always was.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

OPTIONS = orjson.OPT_NON_STR_KEYS


def json_text(value: Any) -> str:
    """`value` as JSON text, not escaped to ASCII."""
    try:
        return orjson.dumps(value, option=OPTIONS).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def json_copy(value: Any) -> Any:
    """`value` as it reads back from canonical JSON: tuples become lists, keys text and in order,
    records refused."""
    try:
        return orjson.loads(orjson.dumps(value, option=OPTIONS | orjson.OPT_SORT_KEYS))
    except TypeError:
        return json.loads(json.dumps(value, sort_keys=True))
