"""Credentials as resolvers know them: API keys (``gr_<prefix>_<secret>``, stored as the
SHA-256 of their secret part, compared in constant time) and the principal a key or a
username names, with its role grants. Tokens are the app's door (``app.auth``)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from db.queries import access as access_queries
from resolvers.common.access import Grant, Principal

API_KEY_PREFIX = "gr_"


class AuthError(Exception):
    """The credentials are missing, malformed, expired, revoked or unknown."""


@dataclasses.dataclass(frozen=True)
class NewApiKey:
    key: str  # shown once
    prefix: str
    secret_hash: str


def key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(f"{API_KEY_PREFIX}{prefix}_{secret}", prefix, key_digest(secret))


def split_api_key(text: str) -> tuple[str, str] | None:
    if not text.startswith(API_KEY_PREFIX):
        return None
    prefix, _, secret = text[len(API_KEY_PREFIX) :].partition("_")
    return (prefix, secret) if prefix and secret else None


async def principal_of_key(session: AsyncSession, prefix: str, secret: str) -> Principal:
    """The principal of an active user's unrevoked API key, or AuthError."""
    key = await access_queries.get_api_key(session=session, prefix=prefix)
    if key is None or key.revoked_at is not None:
        raise AuthError("unknown or revoked API key")
    if not hmac.compare_digest(key.secret_hash, key_digest(secret)):
        raise AuthError("unknown or revoked API key")
    user = await access_queries.get_user_by_id(session=session, user_id=key.user_id)
    return await _active(session, user)


async def principal_of_user(session: AsyncSession, username: str) -> Principal:
    """The principal of an active user, or AuthError."""
    return await _active(session, await access_queries.get_user(session=session, username=username))


async def _active(session: AsyncSession, user: User | None) -> Principal:
    if user is None or not user.active:
        raise AuthError("unknown or inactive user")
    return await _principal(session, user)


async def _principal(session: AsyncSession, user: User) -> Principal:
    rows = await access_queries.list_assignments(session=session, user_id=user.id)
    grants = tuple(Grant(a.role, a.area_id, path, a.department_id) for a, path in rows)
    return Principal(user_id=user.id, username=user.username, cadre_id=user.cadre_id, grants=grants)


async def principal_of(session: AsyncSession, username: str) -> Principal | None:
    """Any user's principal (for explanations), or None."""
    user = await access_queries.get_user(session=session, username=username)
    return await _principal(session, user) if user is not None else None
