"""A partner agency calling the API with its token, and a dispute referred to it."""

from __future__ import annotations

from odr.referrals.directory import add_partner
from tests.factories import lodge, make_user

GERMAN_LAW = {"consumer_chose_merchant_law": True}


class Agency:
    def __init__(self, app, name: str) -> None:
        slug = name.lower().replace(" ", "-")
        with app.app_context():
            partner, _user, self.token, _secret = add_partner(
                name=name,
                countries=["DE"],
                languages=["de", "en"],
                webhook_url=f"https://{slug}.example/hooks",
                legal_basis="GDPR art. 49(1)(a)",
                user_email=f"desk@{slug}.example",
            )
            self.id = partner.public_id
        self.client = app.test_client()

    def get(self, path: str):
        return self.client.get(path, headers={"Authorization": f"Bearer {self.token}"})

    def post(self, path: str, body: dict | None = None, **headers):
        return self.client.post(
            path, json=body, headers={"Authorization": f"Bearer {self.token}", **headers}
        )


def referred(app, api) -> tuple[dict, object]:
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    assert dispute["state"] == "referred"
    return dispute, claimant
