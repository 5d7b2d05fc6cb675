"""Full-text search: one analyzer, the query language and highlights; each database's index
is in app.databases."""
