"""Who may call the API, and how often: API keys (keyring.py), token buckets (buckets.py)
and the middleware that applies both before the response cache (middleware.py)."""
