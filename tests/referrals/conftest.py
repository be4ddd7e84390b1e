"""Fixtures for referrals: a partner agency's webhook endpoint on a local port, and an agency in
the directory that points at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from odr.referrals.directory import add_partner
from odr.referrals.secrets import signing_secrets
from tests.referrals.simulator import PartnerSimulator


@pytest.fixture
def partner_simulator() -> Iterator[PartnerSimulator]:
    simulator = PartnerSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@dataclass
class SimulatedPartner:
    id: int
    public_id: str
    secret: str


@pytest.fixture
def simulated_partner(app, partner_simulator) -> Iterator[SimulatedPartner]:
    """An agency whose webhook URL is the simulator's (a private address, so allowed for the
    test), the simulator knowing its signing secret."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    try:
        with app.app_context():
            partner, _user, _token, secret = add_partner(
                name="Schlichtungsstelle Simuliert",
                countries=["DE", "AT"],
                languages=["de", "en"],
                webhook_url=partner_simulator.url,
                legal_basis="Art. 6(1)(a) GDPR: the consumer's consent.",
                user_email="desk@simulated.example",
            )
            partner_simulator.secrets = signing_secrets(partner)
            made = SimulatedPartner(partner.id, partner.public_id, secret)
        yield made
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
