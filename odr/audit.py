"""The keyed hash of the audit chains: HMAC-SHA256 under a key that is not in the database.

Both logs (each case's events, `odr.cases.events`, and the security events,
`odr.accounts.audit`) chain the same way: an entry's hash is

    HMAC-SHA256(audit key, previous hash + canonical JSON of the entry), in hex

with the previous hash of the first entry being 64 zeros. Someone who can write the database but
has not the key (`ODR_AUDIT_KEY`, or `audit.key` in the instance folder) cannot recompute a chain
after changing an entry. Someone who has stolen the key can; exported heads (`odr.heads`), kept
off the database host, catch that too.

The same key, with a purpose prefix, also makes the fingerprints the security log keeps instead
of e-mail and IP addresses: stable (the same address gives the same fingerprint), but not
reversible by guessing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from flask import current_app

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """The hash of an entry that follows `prev_hash`."""
    message = (prev_hash + canonical_json(body)).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def fingerprint(purpose: str, value: str) -> str:
    """A keyed, stable stand-in for a personal value (an e-mail or IP address), 32 hex digits.

    The message starts with the purpose, never with 64 hex digits, so it cannot collide with a
    chain entry.
    """
    message = f"fingerprint:{purpose}:{value}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()[:32]


def sign(document: dict[str, Any]) -> str:
    """The MAC of an exported document (the heads), under the audit key."""
    message = ("document:" + canonical_json(document)).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
