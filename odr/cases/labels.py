"""Translated names of the lists a case draws from, for pages and e-mails."""

from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    "not_received": _l("Goods or service not received"),
    "not_as_described": _l("Not as described"),
    "defective": _l("Defective or damaged"),
    "refund_not_paid": _l("Refund promised but not paid"),
    "unauthorized_charge": _l("Charge I did not authorise"),
    "counterfeit": _l("Counterfeit goods"),
    "other": _l("Something else"),
}
REMEDY_LABELS = {
    "refund": _l("Full refund"),
    "partial_refund": _l("Partial refund"),
    "replacement": _l("Replacement"),
    "repair": _l("Repair"),
    "return_and_refund": _l("Return and refund"),
    "other": _l("Something else"),
}
FLAG_LABELS = {
    "possible_duplicate": _l("Possible duplicate of an open dispute about the same order"),
    "claim_above_ceiling": _l("The claim is above the ceiling for direct admission"),
    "claim_above_order_total": _l("The claim is more than the order total"),
}
FOREIGN_LAW_NOTES = {
    "referred_to_partner": _l(
        "Foreign law governs: the dispute goes to the partner agency of that country, as the "
        "claimant agreed."
    ),
    "no_partner_handled_at_home": _l(
        "No partner agency covers the governing-law country yet, so the dispute is handled here."
    ),
    "no_transfer_consent": _l(
        "The claimant did not agree to a transfer abroad, so the dispute is handled here."
    ),
    "referral_declined": _l("The partner agency declined the dispute, so it is handled here."),
    "referral_expired": _l(
        "The partner agency did not answer within 5 days, so the dispute is handled here."
    ),
}
REFERRAL_STATUS_LABELS = {
    "pending": _l("Sent; waiting for the agency to accept"),
    "accepted": _l("Accepted by the agency"),
    "declined": _l("Declined by the agency; handled here"),
    "expired": _l("Not answered in time; handled here"),
    "withdrawn": _l("Withdrawn by the consumer"),
    "closed": _l("Closed by the agency"),
}
PORTAL_STATUS_LABELS = {  # the same statuses, as the agency's own portal words them
    "pending": _l("Waiting for your answer"),
    "accepted": _l("Accepted: with you"),
    "declined": _l("Declined"),
    "expired": _l("Expired unanswered"),
    "withdrawn": _l("Withdrawn: no longer yours to handle"),
    "closed": _l("Closed with your outcome"),
}
OUTCOME_LABELS = {  # as a partner agency reports them
    "settled": _l("Settled at the partner agency"),
    "awarded": _l("Decided by the partner agency"),
    "unresolved": _l("Not resolved at the partner agency"),
    "withdrawn": _l("Withdrawn at the partner agency"),
}
OFFER_STATUS_LABELS = {
    "open": _l("Open"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    "superseded": _l("Superseded"),
    "expired": _l("Expired"),
}
PARTY_LABELS = {
    "claimant": _l("Consumer"),
    "respondent": _l("Merchant"),
    "mediator": _l("Mediator"),
    "arbitrator": _l("Arbitrator"),
    "case_manager": _l("Case manager"),
    "partner": _l("Partner agency"),
    "system": _l("ODR system"),
}
EVENT_LABELS = {
    "lodged": _l("Dispute lodged"),
    "reminder": _l("Deadline reminder sent"),
    "respondent_joined": _l("The merchant joined the dispute"),
    "mediator_assigned": _l("Mediator assigned"),
    "arbitrator_assigned": _l("Arbitrator assigned"),
    "mediator_waiting": _l("Waiting for a free mediator"),
    "arbitrator_waiting": _l("Waiting for a free arbitrator"),
    "add_evidence": _l("Evidence added"),
    "document_issued": _l("Document issued"),
}
ROLE_LABELS = {
    "consumer": _l("Consumer"),
    "merchant": _l("Merchant"),
    "mediator": _l("Mediator"),
    "arbitrator": _l("Arbitrator"),
    "case_manager": _l("Case manager"),
    "platform": _l("Platform"),
    "partner": _l("Partner agency"),
}
CHANNEL_LABELS = {
    "joint": _l("Everyone in the dispute"),
    "private": _l("Private with the mediator"),
    "notes": _l("My private notes"),
}
ANSWER_LABELS = {
    None: _l("No answer yet"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
}
DOCUMENT_KIND_LABELS = {
    "settlement_agreement": _l("Settlement agreement"),
    "award": _l("Arbitral award"),
    "case_file": _l("Case file"),
    "partner_outcome": _l("Partner agency's outcome"),
}
