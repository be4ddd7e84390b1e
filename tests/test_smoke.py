from tests.factories import lodge, make_user


def test_lodge_offer_accept_through_the_api(app, api, mailbox):
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    claimant = api.as_user(consumer)
    respondent = api.as_user(merchant)
    dispute = lodge(claimant)
    assert dispute["state"] == "negotiation"
    offer = respondent.post(
        f"/api/v1/disputes/{dispute['id']}/offers",
        {
            "amount": {"amount": "60.00", "currency": "EUR"},
            "remedy": "partial_refund",
            "terms": "x",
        },
    )
    assert offer.status_code == 201, offer.get_json()
    accepted = claimant.post(
        f"/api/v1/disputes/{dispute['id']}/offers/{offer.get_json()['id']}/accept"
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["state"] == "settled"
    assert mailbox.to("shop@merchant.example")
