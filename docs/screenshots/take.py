"""Screenshots of the dispute page and of the confirmation step, from the running app.

`make screenshots` runs it: the app on a fresh SQLite file with the demo data, served on a free
local port, with an in-process SMTP server taking the mail; Debian's Chromium, driven by
Playwright, logs in as the demo consumer (李伟 Li Wei), who has an open offer from Rheinland
Electronics, and photographs, on a desktop (1280×800) and a phone (390×844), in English and
Simplified Chinese:

- `dispute-<screen>-<language>.png`: the dispute page, whole;
- `confirm-<screen>-<language>.png`: what the consumer sees after pressing "Accept offer".

Nothing is accepted: the confirmation is photographed, not confirmed.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from odr import create_app  # noqa: E402
from odr.demo import DEMO_PASSWORD, seed_demo  # noqa: E402

SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve() -> tuple[str, str]:
    """The app on a fresh database with the demo data; returns its address and the id of the
    dispute with the open offer."""
    folder = Path(tempfile.mkdtemp(prefix="odr-screenshots-"))
    smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'odr.db'}",
            "STORAGE_DIR": str(folder / "storage"),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp.port,
            "QUEUE_IMMEDIATE": True,
            "RATELIMIT_ENABLED": False,
            "BASE_URL": url,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        seed_demo()
        from odr.cases.models import Case
        from odr.extensions import db

        dispute = db.session.scalar(
            db.select(Case.public_id).where(Case.order_reference == "SW-2026-88123")
        )
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return url, dispute


def take(url: str, dispute: str, out: Path) -> list[Path]:
    taken = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        for screen, options in SCREENS.items():
            for language, button in LANGUAGES.items():
                context = browser.new_context(base_url=url, **options)
                page = context.new_page()
                page.goto("/login")
                page.locator("#email").fill("consumer@demo.odr")
                page.locator("#password").fill(DEMO_PASSWORD)
                page.locator("main form button[type=submit]").click()
                page.wait_for_url("**/disputes")
                languages = page.locator("header form.languages")
                languages.get_by_role("button", name=button).click()
                page.wait_for_load_state("load")
                page.goto(f"/disputes/{dispute}")
                shot = out / f"dispute-{screen}-{language}.png"
                page.screenshot(path=shot, full_page=True)
                taken.append(shot)
                page.locator("tr.offer form[action$='/accept'] button").first.click()
                page.wait_for_load_state("load")
                shot = out / f"confirm-{screen}-{language}.png"
                page.screenshot(path=shot, full_page=True)
                taken.append(shot)
                context.close()
        browser.close()
    return taken


def main() -> None:
    url, dispute = serve()
    for shot in take(url, dispute, HERE):
        print(shot.relative_to(HERE.parents[1]))


if __name__ == "__main__":
    main()
