"""Nothing typed into the lodging form is lost: drafts per account, and the stash of a form posted
after its session ended, claimed by the log-in that follows in the same browser."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from odr import clock
from odr.cases.drafts import (
    MAX_DRAFT_BYTES,
    STASH_COOKIE,
    LodgingDraft,
    LodgingStash,
    purge_expired_drafts,
)
from odr.cases.models import Case
from odr.extensions import db
from tests.accounts.test_limits import (  # noqa: F401 (fixtures)
    LIMIT,
    STEADY,
    Visitor,
    _address,
    make_limited_app,
    storage,
)
from tests.cases.test_lodging import _form
from tests.factories import PASSWORD, make_user

MERCHANT = "Rheinland Electronics"
JSON = {"Accept": "application/json"}


def _drafts(app) -> dict[int, dict[str, str]]:
    with app.app_context():
        return {d.user_id: d.fields for d in db.session.scalars(sa.select(LodgingDraft))}


def _stashes(app) -> list[LodgingStash]:
    with app.app_context():
        stashes = list(db.session.scalars(sa.select(LodgingStash)))
        db.session.expunge_all()
        return stashes


def _cases(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Case))


def _set_cookies(response) -> str:
    return "\n".join(response.headers.getlist("Set-Cookie"))


def _form_page(web) -> str:
    response = web.get("/disputes/new")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _typed(**extra):
    """What a person has typed so far: the merchant, and a description with no order yet."""
    return {
        "respondent.name": MERCHANT,
        "claim.description": "Die Kopfhörer gingen nach einer Woche kaputt. 一周后就坏了。",
        **extra,
    }


def _session_ends(app) -> None:
    """The person stops for longer than the idle time (inside `clock.travel_to`)."""
    clock.advance(timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))


def _log_in_to_form(web, email: str):
    """The log-in the stash redirect leads to, coming back to the form."""
    web.get("/login?next=/disputes/new")
    response = web.post("/login?next=/disputes/new", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/disputes/new"
    return response


# ---- drafts of a logged-in person --------------------------------------------------------------


def test_a_saved_draft_fills_the_form_again_for_its_owner_only(app, web, make_web):
    owner = make_user(app, "consumer")
    web.login(owner.email)
    _form_page(web)

    saved = web.post(
        "/disputes/new/draft",
        _typed(password="hunter2", other_field="x", **{"order.items.7.description": "y"}),
    )

    assert saved.status_code == 303
    assert saved.headers["Location"] == "/disputes/new?draft=saved"
    page = web.get(saved.headers["Location"]).get_data(as_text=True)
    assert f'value="{MERCHANT}"' in page
    assert "一周后就坏了" in page
    assert "Draft saved at" in page
    assert "Discard the draft" in page
    assert "We restored your draft from" in _form_page(web)
    # Only the lodging form's own fields are kept: never a password, a token or a stray name.
    assert set(_drafts(app)[owner.id]) == {"respondent.name", "claim.description"}

    stranger = make_web()
    stranger.login(make_user(app, "consumer").email)
    other = _form_page(stranger)
    assert MERCHANT not in other
    assert "We restored your draft" not in other


def test_autosave_answers_with_the_time_it_saved(app, web):
    owner = make_user(app, "consumer", timezone="Asia/Shanghai")
    with clock.travel_to(clock.now().replace(hour=6, minute=32)):  # 14:32 in Shanghai
        web.login(owner.email)  # signed in at that time too: the session is not idle
        _form_page(web)
        saved = web.post("/disputes/new/draft", _typed(), headers=JSON)

    assert saved.status_code == 200
    assert saved.get_json()["message"] == "Draft saved at 14:32"
    assert _drafts(app)[owner.id]["respondent.name"] == MERCHANT


def test_lodging_the_dispute_deletes_the_draft(app, web):
    owner = make_user(app, "consumer")
    web.login(owner.email)
    _form_page(web)
    web.post("/disputes/new/draft", _typed())
    assert owner.id in _drafts(app)

    lodged = web.post("/disputes/new", _form())

    assert lodged.status_code == 302
    assert _drafts(app) == {}
    assert "We restored your draft" not in _form_page(web)


def test_a_discarded_draft_is_gone(app, web):
    owner = make_user(app, "consumer")
    web.login(owner.email)
    _form_page(web)
    web.post("/disputes/new/draft", _typed())

    discarded = web.post("/disputes/new/draft/discard")

    assert discarded.status_code == 303
    assert _drafts(app) == {}
    assert MERCHANT not in _form_page(web)


def test_a_form_with_nothing_typed_keeps_no_draft(app, web):
    owner = make_user(app, "consumer")
    web.login(owner.email)
    _form_page(web)
    web.post("/disputes/new/draft", _typed())

    web.post("/disputes/new/draft", {"language": "en", "claim.amount.currency": "CNY"})

    assert _drafts(app) == {}


def test_a_too_large_draft_is_refused_with_a_clear_error_and_the_text_stays(app, web):
    owner = make_user(app, "consumer")
    web.login(owner.email)
    _form_page(web)
    huge = _typed(**{"claim.description": "x" * (MAX_DRAFT_BYTES + 1)})

    by_script = web.post("/disputes/new/draft", huge, headers=JSON)
    by_button = web.post("/disputes/new/draft", huge)

    assert by_script.status_code == 413
    assert "too large to keep: at most 64 KB" in by_script.get_json()["message"]
    assert by_button.status_code == 413
    page = by_button.get_data(as_text=True)
    assert "too large to keep: at most 64 KB" in page
    assert f'value="{MERCHANT}"' in page
    assert _drafts(app) == {}


def test_a_draft_older_than_thirty_days_is_not_restored_and_the_sweep_deletes_it(app, web):
    owner = make_user(app, "consumer")
    web.login(owner.email)
    _form_page(web)
    web.post("/disputes/new/draft", _typed())

    with clock.travel_to(clock.now() + timedelta(days=31)):
        web.login(owner.email)
        assert MERCHANT not in _form_page(web)
        with app.app_context():
            assert purge_expired_drafts() == 1
    assert _drafts(app) == {}


# ---- a session that ended while the person typed -----------------------------------------------


def test_a_form_posted_after_the_session_ended_comes_back_after_log_in(app, web):
    owner = make_user(app, "consumer")
    with clock.travel_to(clock.now()):
        web.login(owner.email)
        _form_page(web)
        _session_ends(app)

        sent = web.post("/disputes/new", _form(**_typed()))

        assert sent.status_code == 303
        assert sent.headers["Location"].startswith("/login?next=")
        assert STASH_COOKIE in _set_cookies(sent)
        assert _cases(app) == 0
        login_page = web.get(sent.headers["Location"]).get_data(as_text=True)
        assert "Your session had ended, so nothing was sent yet." in login_page

        logged_in = _log_in_to_form(web, owner.email)

    assert f"{STASH_COOKIE}=;" in _set_cookies(logged_in)  # used up
    page = _form_page(web)
    assert f'value="{MERCHANT}"' in page
    assert "一周后就坏了" in page
    assert "What you typed before your session ended is kept as your draft." in page
    assert _stashes(app) == []
    assert _drafts(app)[owner.id]["order.reference"] == "R-1"


def test_autosave_after_the_session_ended_is_kept_and_says_so(app, web):
    owner = make_user(app, "consumer")
    with clock.travel_to(clock.now()):
        web.login(owner.email)
        _form_page(web)
        _session_ends(app)

        saved = web.post("/disputes/new/draft", _typed(), headers=JSON)

        assert saved.status_code == 401
        assert "What you typed is kept: log in again" in saved.get_json()["message"]
        _log_in_to_form(web, owner.email)
    assert MERCHANT in _form_page(web)


def test_the_stash_goes_only_to_the_account_whose_session_ended(app, web):
    owner, other = make_user(app, "consumer"), make_user(app, "consumer")
    with clock.travel_to(clock.now()):
        web.login(owner.email)
        _form_page(web)
        _session_ends(app)
        web.post("/disputes/new", _form(**_typed()))

        _log_in_to_form(web, other.email)  # someone else, in the same browser
        assert MERCHANT not in _form_page(web)
        assert other.id not in _drafts(app)
        web.post("/logout")

        _log_in_to_form(web, owner.email)
    assert MERCHANT in _form_page(web)
    assert list(_drafts(app)) == [owner.id]


def test_a_browser_without_its_session_cookie_is_believed_only_from_this_site(app, make_web):
    owner = make_user(app, "consumer")
    forged = make_web()  # no session cookie: no CSRF token to check against
    for headers in ({}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        refused = forged.post("/disputes/new", _form(**_typed()), csrf=False, headers=headers)
        assert refused.status_code == 302
        assert STASH_COOKIE not in _set_cookies(refused)
    assert _stashes(app) == []

    ours = make_web()
    kept = ours.post(
        "/disputes/new", _form(**_typed()), csrf=False, headers={"Origin": "http://localhost"}
    )

    assert kept.status_code == 303
    assert [stash.user_id for stash in _stashes(app)] == [None]  # the browser did not say who
    _log_in_to_form(ours, owner.email)
    assert MERCHANT in _form_page(ours)


def test_an_expired_stash_is_ignored_and_purged(app, web):
    owner = make_user(app, "consumer")
    with clock.travel_to(clock.now()):
        web.login(owner.email)
        _form_page(web)
        _session_ends(app)
        web.post("/disputes/new", _form(**_typed()))
        assert len(_stashes(app)) == 1

        clock.advance(timedelta(hours=2, minutes=1))
        _log_in_to_form(web, owner.email)
        assert MERCHANT not in _form_page(web)
        with app.app_context():
            assert purge_expired_drafts() == 1
    assert _stashes(app) == [] and _drafts(app) == {}


def test_a_page_left_open_across_a_new_log_in_keeps_its_text_and_lodges_nothing(app, web):
    """Logged in again in another tab, the old tab's CSRF token no longer matches."""
    owner = make_user(app, "consumer")
    web.login(owner.email)
    _form_page(web)
    old_token = web.csrf
    web.post("/logout")  # in another tab, and in again
    web.login(owner.email)

    refused = web.post("/disputes/new", {**_form(**_typed()), "csrf_token": old_token})
    forged = web.post(
        "/disputes/new/draft",
        {**_typed(), "csrf_token": "forged"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
    )
    assert _drafts(app) == {}
    kept = web.post(
        "/disputes/new",
        {**_form(**_typed()), "csrf_token": old_token},
        headers={"Sec-Fetch-Site": "same-origin"},
    )

    assert refused.status_code == 400
    assert forged.status_code == 400
    assert kept.status_code == 303
    assert kept.headers["Location"] == "/disputes/new?draft=kept"
    assert _cases(app) == 0
    page = web.get(kept.headers["Location"]).get_data(as_text=True)
    assert "This page had expired. What you typed is kept below as your draft" in page
    assert f'value="{MERCHANT}"' in page


# ---- rate limits -------------------------------------------------------------------------------


def test_autosave_is_never_limited_but_logged_out_browsers_have_the_lodging_limit(
    make_limited_app,  # noqa: F811 (the fixture)
):
    app = make_limited_app(RATELIMIT_LODGE=STEADY)
    address = _address()
    person = Visitor(app, address).login(make_user(app, "consumer").email)
    person.get("/disputes/new")
    for _ in range(LIMIT + 2):
        assert person.post("/disputes/new/draft", _typed()).status_code == 303

    def logged_out_post(path: str) -> int:
        return (
            app.test_client()
            .post(
                path,
                data=_typed(),
                headers={"Origin": "http://localhost"},
                environ_base={"REMOTE_ADDR": address},
            )
            .status_code
        )

    for path in ("/disputes/new/draft", "/disputes/new"):
        assert [logged_out_post(path) for _ in range(LIMIT + 1)] == [303] * LIMIT + [429]
