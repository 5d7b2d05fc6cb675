"""Opaque, signed keyset cursors.

A cursor carries the sort key of the last item of a page and the sort it belongs to,
signed with HMAC so a client cannot forge a position; anything tampered, truncated or
made for another sort is rejected as an invalid `cursor` parameter.
"""

import base64
import hashlib
import hmac
import json
from typing import Any

from app.errors import ApiError, invalid_params

MAX_CURSOR_CHARS = 512
MAX_OFFSET = 10_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(secret: str, sort: str, key: list[Any]) -> str:
    payload = json.dumps({"s": sort, "k": key}, separators=(",", ":")).encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
    return _b64(payload) + "." + _b64(mac)


def decode_cursor(secret: str, sort: str, cursor: str) -> list[Any]:
    """The key stored in cursor, or a 400 problem naming `cursor`."""
    bad = invalid_params(("cursor", "invalid or tampered cursor; use next_cursor as returned"))
    if len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise bad
    body, mac = cursor.split(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (ValueError, TypeError):
        raise bad from None
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(given, expected):
        raise bad
    data = json.loads(payload)
    if data.get("s") != sort:
        raise invalid_params(("cursor", f"this cursor belongs to sort={data.get('s')}, not {sort}"))
    key: list[Any] = data["k"]
    return key


def check_page(page: int | None, cursor: str | None, limit: int) -> ApiError | None:
    if page is not None and cursor is not None:
        return invalid_params(("page", "use either page or cursor, not both"))
    if page is not None and page * limit > MAX_OFFSET:
        return invalid_params(
            (
                "page",
                f"page × limit may not exceed {MAX_OFFSET}; "
                "follow next_cursor (keyset pagination) for deeper pages",
            )
        )
    return None
