"""ASVS V11/V13.3: no key ships with the code. A link signed with the key that used to be built in
is refused; outside production the app makes a random key once and keeps it in its instance
folder (readable by its owner only); production will not start without one."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from itsdangerous import URLSafeTimedSerializer

from odr.config import PROJECT_ROOT
from tests.conftest import _TMP
from tests.factories import make_user

FORMER_DEFAULT = "dev-only-insecure-secret-key"


def _forged_welcome(user_id: int) -> str:
    """What the attacker made: an account that has no password yet has a known fingerprint."""
    serializer = URLSafeTimedSerializer(FORMER_DEFAULT, salt="odr-link-staff_welcome")
    fingerprint = hashlib.sha256(b"").hexdigest()[:16]
    return serializer.dumps({"user": user_id, "pwd": fingerprint, "jti": "forged"})


def test_a_link_signed_with_the_former_default_key_is_refused(start):
    instance = tempfile.mkdtemp(prefix="instance-", dir=_TMP)
    served = start("security-secret-key.db", env={"ODR_INSTANCE_DIR": instance}, SECRET_KEY=None)
    desk = make_user(served.app, "partner", email="desk@agency.example", password=None)

    page = served.visitor().get(f"/password/welcome/{_forged_welcome(desk.id)}")

    assert page.status_code == 400
    assert 'name="new_password"' not in page.text
    key_file = Path(instance) / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 48


def test_the_instance_key_is_made_once_and_kept(start):
    instance = tempfile.mkdtemp(prefix="instance-", dir=_TMP)
    first = start("security-key-once.db", env={"ODR_INSTANCE_DIR": instance}, SECRET_KEY=None)
    key = (Path(instance) / "secret.key").read_text()
    first.process.terminate()
    first.process.wait()
    start("security-key-once-2.db", env={"ODR_INSTANCE_DIR": instance}, SECRET_KEY=None)
    assert (Path(instance) / "secret.key").read_text() == key


def test_production_will_not_start_without_a_secret_key(tmp_path):
    env = {
        **os.environ,
        "ODR_ENV": "production",
        "ODR_INSTANCE_DIR": str(tmp_path),
        "ODR_DATABASE_URL": f"sqlite:///{tmp_path / 'odr.db'}",
        "ODR_SERVE_CONFIG": "{}",
    }
    env.pop("ODR_SECRET_KEY", None)
    started = subprocess.run(
        [sys.executable, "-m", "tests.security.serve", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert b"ODR_SECRET_KEY must be set in production" in started.stderr
    assert not (tmp_path / "secret.key").exists()
