"""HTTP routers, one per resource: validate parameters, call a query, return a schema."""
