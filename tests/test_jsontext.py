"""JSON written by orjson reads back as the standard library's would."""

import json

import pytest

from odr.jsontext import json_copy, json_text

VALUES = [
    {"b": 1, "a": [1, 2.5, None, True], "ü": '中文 "quoted" \n tab\t'},
    {1: "number key", "text": ("a", "tuple")},
    {"big": 2**70, "small": -(2**63)},
    [],
    "plain",
]


@pytest.mark.parametrize("value", VALUES)
def test_json_text_reads_back_as_the_standard_library_writes_it(value):
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("value", VALUES)
def test_json_copy_is_the_canonical_round_trip(value):
    expected = json.loads(json.dumps(value))
    copied = json_copy(value)
    assert copied == expected
    assert json.dumps(copied) == json.dumps(expected, sort_keys=True)  # keys in order


def test_json_text_keeps_text_as_it_is():
    assert json_text({"name": "王小明"}) == '{"name":"王小明"}'


def test_what_neither_can_write_is_refused():
    with pytest.raises(TypeError):
        json_text({"when": object()})
    with pytest.raises(TypeError):
        json_copy({"when": object()})
