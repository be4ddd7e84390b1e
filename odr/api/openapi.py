"""The OpenAPI 3.1 document of API v1. A test holds it against the registered routes."""

from __future__ import annotations

from typing import Any

from odr.api.idempotency import MAX_KEY_LENGTH
from odr.cases.models import CATEGORIES, EVIDENCE_TYPES, REMEDIES
from odr.negotiation.models import OFFER_STATUSES
from odr.referrals.progress import PROGRESS_CODES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _problems(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": "Problem",
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
        for code in codes
    }


def _op(summary: str, ok: str, schema: dict[str, Any] | None, *codes: int, body: Any = None):
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {ok: {"description": "OK", **(_json(schema) if schema else {})}},
    }
    # Every call with a token may answer 401 (no live token) and 403 (a scope it lacks, or an
    # account whose address is not confirmed yet), besides the operation's own.
    operation["responses"].update(_problems(401, 403, *codes))
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    return operation


def _with_no_content(description: str, operation: dict[str, Any]) -> dict[str, Any]:
    operation["responses"]["204"] = {"description": description}
    return operation


ID = {"name": "dispute_id", "in": "path", "required": True, "schema": {"type": "string"}}
OFFER_ID = {"name": "offer_id", "in": "path", "required": True, "schema": {"type": "string"}}
ACTION = {"name": "action", "in": "path", "required": True, "schema": {"type": "string"}}
EVIDENCE_ID = {"name": "evidence_id", "in": "path", "required": True, "schema": {"type": "string"}}
DOCUMENT_ID = {"name": "document_id", "in": "path", "required": True, "schema": {"type": "string"}}
CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
PAGING = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "The `next_cursor` of the page before; any other value is a 422.",
        "schema": {"type": "string"},
    },
]
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "The same key and body again give the first answer (kept per caller).",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "description": "The dispute's version, from its `ETag`: a 412 if it has changed since.",
    "schema": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,9}"?$'},
}

# What an operation may answer because of what it takes, declared once for every operation that
# takes it (`_shared_answers`), so that a route cannot leave one out.
SHARED_ANSWERS = {
    "Idempotency-Key": (400, 409, 422),  # malformed; the same key still running; another body
    "If-Match": (412, 422),  # the dispute has changed; not a version
    "limit": (422,),  # out of range, or an unknown cursor
    "requestBody": (400,),  # not a JSON object
}


def _shared_answers(paths: dict[str, Any]) -> None:
    for item in paths.values():
        for operation in item.values():
            takes = {p["name"] for p in operation.get("parameters", [])}
            takes |= {"requestBody"} & operation.keys()
            codes = [code for name in sorted(takes) for code in SHARED_ANSWERS.get(name, ())]
            for code, answer in _problems(*codes).items():
                operation["responses"].setdefault(code, answer)


def _schemas() -> dict[str, Any]:
    string = {"type": "string"}
    date = {"type": "string", "format": "date"}
    due_at = {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "The last second on time: 23:59:59 of `performance_due` in "
        "`performance_zone`, with that zone's offset",
    }
    zone = {
        "type": ["string", "null"],
        "description": "The IANA time zone of the respondent (who performs) in which "
        "`performance_due` ends",
    }
    return {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": {
                "type": string,
                "title": string,
                "status": {"type": "integer"},
                "detail": string,
                "errors": {"type": "object", "additionalProperties": string},
                "scope": {
                    "type": "string",
                    "enum": ["read", "write", "partner"],
                    "description": "On a 403: the scope the token lacks for this request.",
                },
            },
        },
        "Money": {
            "type": "object",
            "required": ["amount", "currency"],
            "properties": {
                "amount": {"type": "string", "examples": ["129.90"]},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            },
            "additionalProperties": False,
        },
        "Party": {
            "type": "object",
            "required": ["name", "email", "country", "language"],
            "properties": {
                "name": string,
                "email": {"type": "string", "format": "email"},
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "language": string,
                "address": {"type": ["string", "null"]},
                "website": {"type": ["string", "null"]},
            },
            "additionalProperties": False,
        },
        "Order": {
            "type": "object",
            "required": ["platform", "reference", "ordered_on", "total"],
            "properties": {
                "platform": string,
                "reference": string,
                "ordered_on": date,
                "delivered_on": date,
                "total": _ref("Money"),
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"description": string, "quantity": {"type": "integer"}},
                    },
                },
            },
            "additionalProperties": False,
        },
        "Claim": {
            "type": "object",
            "required": ["category", "description", "remedy", "amount"],
            "properties": {
                "category": {"enum": list(CATEGORIES)},
                "description": string,
                "remedy": {"enum": list(REMEDIES)},
                "amount": _ref("Money"),
            },
            "additionalProperties": False,
        },
        "Lodging": {
            "type": "object",
            "required": ["respondent", "order", "claim"],
            "properties": {
                "claimant": _ref("Party"),
                "respondent": _ref("Party"),
                "order": _ref("Order"),
                "claim": _ref("Claim"),
                "law": {
                    "type": "object",
                    "properties": {
                        "consumer_chose_merchant_law": {"type": "boolean"},
                        "merchant_targets_consumer_country": {"type": "boolean"},
                    },
                },
                "language": string,
                "arbitration_consent": {"type": "boolean"},
                "transfer_consent": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "Offer": {
            "type": "object",
            "properties": {
                "id": string,
                "by": {"enum": ["claimant", "respondent"]},
                "amount": _ref("Money"),
                "remedy": {"enum": list(REMEDIES)},
                "terms": string,
                "performance_due": {"type": ["string", "null"], "format": "date"},
                "performance_due_at": due_at,
                "performance_zone": zone,
                "status": {"enum": list(OFFER_STATUSES)},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "NewOffer": {
            "type": "object",
            "required": ["amount", "remedy", "terms"],
            "properties": {
                "amount": _ref("Money"),
                "remedy": {"enum": list(REMEDIES)},
                "terms": string,
                "performance_due": {
                    **date,
                    "description": "Optional: without it, 14 days from the acceptance, ending "
                    "at 23:59 in the respondent's time zone",
                },
            },
            "additionalProperties": False,
        },
        "Dispute": {
            "type": "object",
            "properties": {
                "id": string,
                "reference": {"type": "string", "pattern": "^ODR-[0-9]{4}-[0-9]{6}$"},
                "state": string,
                "version": {"type": "integer"},
                "deadline_at": {"type": ["string", "null"], "format": "date-time"},
                "governing_law": string,
                "governing_law_rule": string,
                "claimant": _ref("Party"),
                "respondent": _ref("Party"),
                "order": _ref("Order"),
                "claim": _ref("Claim"),
                "arbitration_consent": {
                    "type": "object",
                    "properties": {
                        "claimant": {"type": "boolean"},
                        "respondent": {"type": "boolean"},
                    },
                },
                "mediator": {"type": ["object", "null"]},
                "arbitrator": {"type": ["object", "null"]},
                "offers": {"type": "array", "items": _ref("Offer")},
                "proposal": {"type": ["object", "null"]},
                "performance_due": {
                    "type": ["string", "null"],
                    "format": "date",
                    "description": "Once settled or awarded: the date by which the respondent "
                    "performs (the terms' date, else 14 days for a settlement, 30 for an award)",
                },
                "performance_due_at": due_at,
                "performance_zone": zone,
                "actions": {"type": "array", "items": string},
                "referral": {
                    "type": ["object", "null"],
                    "description": "The newest referral: id, status, partner {id, name}, "
                    "partner_reference, outcome, created_at, closed_at",
                },
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "DisputePage": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"type": "object"}},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
        "Event": {
            "type": "object",
            "properties": {
                "seq": {"type": "integer"},
                "at": {"type": "string", "format": "date-time"},
                "actor": string,
                "kind": string,
                "data": {"type": "object"},
                "hash": string,
            },
        },
        "Message": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "channel": {"enum": ["joint", "private", "notes"]},
                "party": {"type": ["string", "null"]},
                "author": string,
                "body": string,
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "NewMessage": {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": string,
                "channel": {"enum": ["joint", "private"]},
                "party": {"enum": ["claimant", "respondent"]},
            },
            "additionalProperties": False,
        },
        "Evidence": {
            "type": "object",
            "properties": {
                "id": string,
                "filename": string,
                "caption": {"type": ["string", "null"], "maxLength": 200},
                "media_type": {"enum": list(EVIDENCE_TYPES)},
                "size": {"type": "integer"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "uploader": {
                    "type": "object",
                    "properties": {"role": string, "name": {"type": ["string", "null"]}},
                },
                "created_at": {"type": "string", "format": "date-time"},
                "url": string,
            },
        },
        "Document": {
            "type": "object",
            "properties": {
                "id": string,
                "kind": {"enum": ["settlement_agreement", "award", "case_file", "partner_outcome"]},
                "status": {"enum": ["pending", "ready"]},
                "languages": {"type": "array", "items": string},
                "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
                "verification_code": string,
                "superseded_by": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
                "url": {"type": ["string", "null"]},
            },
        },
        "Verification": {
            "type": "object",
            "properties": {
                "valid": {"type": "boolean"},
                "status": {"enum": ["pending", "ready"]},
                "kind": string,
                "reference": string,
                "sha256": {"type": ["string", "null"]},
                "issued_at": {"type": "string", "format": "date-time"},
                "superseded_by": {"type": ["string", "null"]},
                "verification_code": string,
            },
        },
        "NewEvidence": {
            "type": "object",
            "required": ["file"],
            "description": "A PDF, a PNG, JPEG, WebP or HEIC photo, or UTF-8 text of at most "
            "10 MB; an MP4 or QuickTime video of at most 25 MB and 3 minutes; at most 50 MB for "
            "a dispute. The type is decided by the content.",
            "properties": {
                # Any bytes are a file's content (OpenAPI 3.1 leaves out `type` for binary data).
                "file": {"contentMediaType": "application/octet-stream"},
                "caption": {"type": "string", "maxLength": 200},
            },
        },
        "ActionBody": {
            "type": "object",
            "description": "Parameters of the action, as declared by the workflow.",
            "properties": {
                "reason": string,
                "note": string,
                "body": string,
                "amount": _ref("Money"),
                "remedy": {"enum": list(REMEDIES)},
                "terms": string,
                "reasons": string,
                "performance_due": {
                    **date,
                    "description": "Optional: without it, 14 days from today (propose_settlement) "
                    "or 30 days (issue_award), ending at 23:59 in the respondent's time zone",
                },
                "neutral_id": {"type": "integer"},
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    dispute = _ref("Dispute")
    paths = {
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OK"}},
            }
        },
        "/api/v1/me": {"get": _op("The caller and their roles", "200", {"type": "object"})},
        "/api/v1/disputes": {
            "get": {
                **_op("Disputes the caller may see", "200", _ref("DisputePage"), 422),
                "parameters": PAGING,
            },
            "post": {
                **_op("Lodge a dispute", "201", dispute, 403, 409, 422, 429, body=_ref("Lodging")),
                "parameters": [IDEMPOTENCY],
            },
        },
        "/api/v1/disputes/{dispute_id}": {
            "get": {**_op("A dispute, with actions", "200", dispute, 404), "parameters": [ID]}
        },
        "/api/v1/disputes/{dispute_id}/events": {
            "get": {
                **_op("The timeline", "200", _ref("DisputePage"), 404, 422),
                "parameters": [ID, *PAGING],
            }
        },
        "/api/v1/disputes/{dispute_id}/actions/{action}": {
            "post": {
                **_with_no_content(
                    "Done, and the dispute is no longer the caller's to see (a recusal)",
                    _op(
                        "Fire a workflow action",
                        "200",
                        dispute,
                        400,
                        403,
                        404,
                        409,
                        412,
                        422,
                        body=_ref("ActionBody"),
                    ),
                ),
                "parameters": [ID, ACTION, IDEMPOTENCY, IF_MATCH],
            }
        },
        "/api/v1/disputes/{dispute_id}/offers": {
            "post": {
                **_op(
                    "Make an offer",
                    "201",
                    _ref("Offer"),
                    400,
                    403,
                    404,
                    409,
                    422,
                    body=_ref("NewOffer"),
                ),
                "parameters": [ID, IDEMPOTENCY],
            }
        },
    }
    paths["/api/v1/disputes/{dispute_id}/messages"] = {
        "get": {
            **_op("Messages the caller may read", "200", _ref("DisputePage"), 404),
            "parameters": [ID],
        },
        "post": {
            **_op(
                "Send a message",
                "201",
                _ref("Message"),
                400,
                403,
                404,
                409,
                422,
                body=_ref("NewMessage"),
            ),
            "parameters": [ID, IDEMPOTENCY],
        },
    }
    upload = _op("Add evidence", "201", _ref("Evidence"), 403, 404, 409, 413, 422)
    upload["requestBody"] = {
        "required": True,
        "content": {"multipart/form-data": {"schema": _ref("NewEvidence")}},
    }
    paths["/api/v1/disputes/{dispute_id}/evidence"] = {
        "get": {
            **_op("The evidence of a dispute", "200", _ref("DisputePage"), 404, 422),
            "parameters": [ID, *PAGING],
        },
        "post": {**upload, "parameters": [ID, IDEMPOTENCY]},
    }
    download = _op("An evidence file, as an attachment", "200", None, 404, 409)
    download["responses"]["200"]["content"] = {
        media_type: {"schema": {"type": "string", "format": "binary"}}
        for media_type in EVIDENCE_TYPES
    }
    paths["/api/v1/disputes/{dispute_id}/evidence/{evidence_id}"] = {
        "get": {**download, "parameters": [ID, EVIDENCE_ID]}
    }

    paths["/api/v1/disputes/{dispute_id}/documents"] = {
        "get": {
            **_op("Settlement agreements, awards and case files", "200", _ref("DisputePage"), 404),
            "parameters": [ID, *PAGING],
        }
    }
    pdf = _op("A document, as a PDF attachment", "200", None, 404, 409)
    pdf["responses"]["200"]["content"] = {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}
    }
    paths["/api/v1/documents/{document_id}"] = {"get": {**pdf, "parameters": [DOCUMENT_ID]}}
    paths["/api/v1/verify/{code}"] = {
        "get": {
            **_op("Whether a document is genuine (no token)", "200", _ref("Verification"), 404),
            "security": [],
            "parameters": [CODE],
        }
    }
    referral_id = {
        "name": "referral_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    referral = {"type": "object", "description": "A referral with its package (see docs/api.md)"}
    paths["/api/v1/referrals"] = {
        "get": {
            **_op("Referrals sent to the caller's agency", "200", _ref("DisputePage"), 403, 422),
            "parameters": PAGING,
        }
    }
    paths["/api/v1/referrals/{referral_id}"] = {
        "get": {
            **_op("A referral and its package", "200", referral, 403, 404),
            "parameters": [referral_id],
        }
    }
    referral_file = _op(
        "An evidence file of a referral, as an attachment", "200", None, 403, 404, 409
    )
    paths["/api/v1/referrals/{referral_id}/evidence/{evidence_id}"] = {
        "get": {**referral_file, "parameters": [referral_id, EVIDENCE_ID]}
    }
    steps = (
        ("accept", "Accept a referral", ["partner_reference"], ["partner_reference"]),
        ("decline", "Decline a referral", ["reason"], ["reason"]),
        (
            "updates",
            "Report progress (`status`: a code of the vocabulary)",
            ["status", "note"],
            ["status"],
        ),
    )
    for step, summary, fields, required in steps:
        body = {
            "type": "object",
            "required": required,
            "properties": {f: {"type": "string"} for f in fields},
            "additionalProperties": False,
        }
        if step == "updates":
            body["properties"]["status"] = {"enum": list(PROGRESS_CODES)}
        paths[f"/api/v1/referrals/{{referral_id}}/{step}"] = {
            "post": {
                **_op(summary, "200", referral, 403, 404, 409, 422, body=body),
                "parameters": [referral_id, IDEMPOTENCY],
            }
        }
    outcome = {
        "type": "object",
        "required": ["outcome", "summary"],
        "properties": {
            "outcome": {"enum": ["settled", "awarded", "unresolved", "withdrawn"]},
            "summary": {"type": "string", "maxLength": 5000},
            "amount": _ref("Money"),
            "document": {
                "type": "object",
                "description": "A PDF of at most 10 MB",
                "required": ["filename", "content_base64"],
                "properties": {
                    "filename": {"type": "string"},
                    "content_base64": {"type": "string", "contentEncoding": "base64"},
                },
            },
        },
    }
    paths["/api/v1/referrals/{referral_id}/outcome"] = {
        "post": {
            **_op(
                "Report the outcome; the same report again answers as the first",
                "200",
                referral,
                403,
                404,
                409,
                413,
                422,
                body=outcome,
            ),
            "parameters": [referral_id, IDEMPOTENCY],
        }
    }
    for decision in ("accept", "reject"):
        paths[f"/api/v1/disputes/{{dispute_id}}/offers/{{offer_id}}/{decision}"] = {
            "post": {
                **_op(f"{decision.title()} an offer", "200", dispute, 403, 404, 409, 412, 422),
                "parameters": [ID, OFFER_ID, IDEMPOTENCY, IF_MATCH],
            }
        }
    _shared_answers(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ODR API", "version": "1"},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "An API token. Its scopes decide what it may do: `read` the GETs on "
                        "disputes and documents, `write` the POSTs on disputes, `partner` the "
                        "/api/v1/referrals endpoints; a request outside them answers 403 naming "
                        "the missing scope. Every token expires (90 days unless chosen when it "
                        "is made); `GET /api/v1/me` shows its scopes and expiry."
                    ),
                }
            },
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
