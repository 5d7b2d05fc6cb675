"""News archive API: ingest article files into SQLite or PostgreSQL and serve them as JSON."""
