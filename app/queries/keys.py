"""API keys in the database (models.ApiKey): issue, list, revoke, and the active ones.

A key is `nak_` and 32 characters of secrets.token_urlsafe (192 random bits). Only its
SHA-256 is stored, with its first 12 characters (`prefix`) to tell keys apart in
listings: a leaked database reveals no key. The hash need not be slow: a key is random,
not a password, so there is nothing to guess from the hash.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import ApiKey

KEY_PREFIX = "nak_"
SHOWN_CHARS = 12  # "nak_" and 8 characters: enough to tell keys apart, useless to guess


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    id: int
    name: str
    prefix: str
    rate_limit: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class ActiveKey:
    """What a request's key resolves to."""

    id: int
    name: str
    rate_limit: str | None  # None: the RATE_LIMIT setting


def create_key(session: Session, name: str, rate_limit: str | None = None) -> tuple[str, int]:
    """A new key for name: (the key, shown once and never stored; its id)."""
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    row = ApiKey(
        name=name,
        prefix=key[:SHOWN_CHARS],
        key_hash=hash_key(key),
        rate_limit=rate_limit,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return key, row.id


def list_keys(session: Session) -> list[KeyRecord]:
    rows = session.scalars(select(ApiKey).order_by(ApiKey.id))
    return [
        KeyRecord(r.id, r.name, r.prefix, r.rate_limit, r.created_at, r.revoked_at) for r in rows
    ]


def revoke_key(session: Session, key_id: int) -> bool:
    """Revoke a key by id; False if there is no such key or it was revoked already."""
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def active_keys(session: Session) -> dict[str, ActiveKey]:
    """Every key not revoked, by its hash."""
    rows = session.execute(
        select(ApiKey.key_hash, ApiKey.id, ApiKey.name, ApiKey.rate_limit).where(
            ApiKey.revoked_at.is_(None)
        )
    )
    return {h: ActiveKey(id_, name, rate) for h, id_, name, rate in rows}
