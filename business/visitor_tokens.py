"""Visitor tokens: bearer secrets of which only the hash is stored."""

from __future__ import annotations

import hashlib
import secrets


def hash_token(token: str) -> str:
    """Visitor tokens are bearer secrets: only their hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)
