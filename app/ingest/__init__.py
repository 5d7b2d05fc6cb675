"""Reading article files (parser, pure) and loading them into the database (loader)."""
