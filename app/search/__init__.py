"""Full-text search: one analyzer and query language, a SQLite FTS5 and a PostgreSQL backend."""
