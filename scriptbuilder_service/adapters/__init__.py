"""Everything that talks to the outside: PostgreSQL, the fixes service, AI providers."""
