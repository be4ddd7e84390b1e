"""The password rules: long enough, not the e-mail address, not a common or guessable password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH = 12
# Long passphrases are welcome; the cap only keeps a request from carrying megabytes to Argon2.
MAX_LENGTH = 1024
MIN_SCORE = 3  # zxcvbn: 3 is "safely unguessable" against throttled online guessing
JUDGED_LENGTH = 72  # zxcvbn refuses longer input; a strong start makes a strong password


def password_problem(password: str, *, email: str = "", name: str = "") -> object | None:
    """Why the password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _l("At least %(count)d characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("At most %(count)d characters.", count=MAX_LENGTH)
    lowered = password.strip().lower()
    if email and (lowered == email.lower() or lowered == email.split("@")[0].lower()):
        return _l("Your password cannot be your e-mail address.")
    # zxcvbn knows the common-password lists, keyboard walks, repeats and dates.
    if zxcvbn(password[:JUDGED_LENGTH], user_inputs=[email, name])["score"] < MIN_SCORE:
        return _l("This password is too common or too easy to guess. Try a few unrelated words.")
    return None
