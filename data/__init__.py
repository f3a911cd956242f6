"""SQL storage behind the business ports (SQLAlchemy 2 async, SQLite or PostgreSQL)."""

from data.database import Database

__all__ = ["Database"]
