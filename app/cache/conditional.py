"""ETags and conditional requests (RFC 9110 §8.8.3, §13.1.2).

A response's ETag names the data version it was made under and the URL it answers, so
it changes whenever any table the API reads changes, and one If-None-Match check serves
the cached fast path and the routes alike.
"""

import hashlib


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
