"""Extra API routers included by api_server.create_app (one module per concern)."""
