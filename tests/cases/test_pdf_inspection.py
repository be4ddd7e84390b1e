"""The PDF inspection's own rules: where an action may stand, one budget for every stream
decoded, and the child process it runs in. Whole files over HTTP: tests/security/."""

from __future__ import annotations

import resource
import time

import pytest

from odr.bounded import OutOfBounds, run_bounded
from odr.evidence.pdf_inspection import (
    MB,
    Budget,
    Reading,
    TooCostly,
    inspect_pdf,
    read_listed,
    read_raw,
)
from tests.security.test_hostile_pdf import in_object_stream, link, one_page, xref_stream_bomb

SHOP = b"<< /S /URI /URI (https://shop.example/orders/1) >>"


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (one_page(page=link(SHOP)), "accepted"),
        (one_page(page=link(b"<< /S /URI /URI (\\150ttps://shop.example) >>")), "accepted"),
        (
            one_page(page=link(b"<< /S /URI /URI <68747470733a2f2f782e6578616d706c65> >>")),
            "accepted",
        ),
        (one_page(page=link(b"4 0 R"), more={4: SHOP}), "accepted"),
        (one_page(b"/OpenAction " + SHOP), "action"),
        (one_page(b"/OpenAction 4 0 R", more={4: SHOP}), "action"),
        (one_page(page=b"/AA << /O " + SHOP + b" >>"), "action"),
        (one_page(page=link(SHOP).replace(b"/Link", b"/Widget")), "action"),
        (one_page(page=link(b"<< /S /URI /URI (\\146ile:///etc/passwd) >>")), "action"),
        (one_page(page=link(b"<< /S /GoTo /D [3 0 R /Fit] >>")), "accepted"),
    ],
    ids=[
        "link",
        "link-escaped",
        "link-hexadecimal",
        "link-by-reference",
        "open-action",
        "open-action-by-reference",
        "page-opened",
        "widget",
        "link-escaped-file",
        "link-goto",
    ],
)
def test_a_web_address_is_accepted_only_as_a_link_that_the_reader_clicks(data, verdict):
    assert inspect_pdf(data) == verdict


def test_every_stream_pypdf_decodes_counts_against_the_same_budget():
    bomb = xref_stream_bomb()  # a cross-reference stream: only pypdf decodes it
    assert read_raw(bomb, Budget(MB)).verdict() == "accepted"
    with pytest.raises(TooCostly):
        read_listed(bomb, Reading(), Budget(MB))
    padded = in_object_stream(b"/OpenAction [3 0 R /Fit]", b"null" + b" " * (2 * MB))
    budget = Budget(3 * MB)
    budget.take(2 * MB)  # as the walk through the file would have
    with pytest.raises(TooCostly):  # pypdf, reading every object, inflates 2 MB more
        read_listed(padded, Reading(), budget)


def limits() -> tuple[tuple[int, int], tuple[int, int]]:
    return resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_AS)


def spin() -> None:
    while True:
        pass


def test_the_child_runs_within_cpu_time_and_address_space_limits():
    before = limits()
    cpu, address_space = run_bounded(limits, seconds=3.5, memory_mb=512)
    assert cpu == (4, 5) and address_space == (512 * MB, 512 * MB)
    assert limits() == before  # the caller's own are untouched


def test_a_child_that_spins_is_stopped_at_its_time():
    started = time.monotonic()
    with pytest.raises(OutOfBounds) as stopped:
        run_bounded(spin, seconds=1)
    assert stopped.value.bound == "time"
    assert time.monotonic() - started < 5
