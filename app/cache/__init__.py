"""Caches of the API process, all keyed by the archive's data version.

* version.py: the data version, which SQL triggers move in the same transaction as any
  change to a table the API reads (whoever makes it), read once per request.
* lru.py: the one LRU type, bounded in bytes, that every cache here uses.
* conditional.py: ETags, and the one If-None-Match check.
* responses.py: whole responses (JSON, feeds), answered before routing when they hit.
* counts.py: listing totals.

An entry is exact while the version it was made under is current, and never used after;
see README "Caching" for the settings.
"""
