"""Helpers every test package shares: one gRPC client, one set of token claims,
the gateway's backends."""
