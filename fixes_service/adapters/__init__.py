"""Storage: SQLAlchemy Core tables and the transactional repository."""
