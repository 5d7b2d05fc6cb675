"""ETags and conditional requests (RFC 9110 §8.8.3, §13.1.2).

A response's ETag names the data version it was made under and the URL it answers, so
it changes whenever any table the API reads changes, and one If-None-Match check serves
the cached fast path and the routes alike.
"""

import hashlib
import re

# Ours: "VERSION-HASH" (make_etag), possibly marked weak by a proxy.
_OUR_ETAG = re.compile(r'(?:W/)?"(\d{1,18})-[0-9a-f]{16}"')


def make_etag(version: int, url: str) -> str:
    return f'"{version}-{hashlib.blake2b(url.encode(), digest_size=8).hexdigest()}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Does an If-None-Match header name etag? Weak comparison (a W/ prefix is ignored),
    as RFC 9110 asks of If-None-Match; `*` matches any current representation."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def newest_version(if_none_match: str | None) -> int | None:
    """The newest data version an If-None-Match header names in our ETags: what the client
    has seen, so that no lagging replica answers it with older data (app.replicas)."""
    if not if_none_match:
        return None
    versions = [int(match.group(1)) for match in _OUR_ETAG.finditer(if_none_match)]
    return max(versions, default=None)
