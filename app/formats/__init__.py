"""Response bodies other than JSON: export rows (CSV, NDJSON) and feeds (Atom, RSS)."""
