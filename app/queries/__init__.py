"""Queries as functions of a session and keyword arguments; the routers only do HTTP."""
