"""Authentication at the app's door: bearer JWTs (HS256 or RS256) and API keys, to a
``Principal``, and the principals kept per policy version.

Only the configured algorithm is accepted (``alg: none`` and algorithm
confusion are refused by construction); ``exp``, ``iat``, ``sub``, ``iss`` and
``aud`` are required, ``nbf`` honoured. API keys are resolvers' own
(``resolvers.credentials``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import OrderedDict

import jwt
from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.common.access import Principal
from resolvers.credentials import (
    AuthError,
    key_digest,
    principal_of_key,
    principal_of_user,
    split_api_key,
)

__all__ = [
    "AuthConfig",
    "AuthError",
    "PrincipalCache",
    "authenticate",
    "mint_token",
    "verify_token",
]


@dataclasses.dataclass(frozen=True)
class AuthConfig:
    algorithm: str  # "HS256" or "RS256"
    verify_key: str  # the HS256 secret, or the RS256 public key (PEM)
    issuer: str
    audience: str
    signing_key: str | None = None  # to mint tokens locally: the secret, or a private key
    leeway_seconds: int = 30


def mint_token(config: AuthConfig, username: str, *, minutes: int = 60) -> str:
    if config.signing_key is None:
        raise AuthError("no signing key configured: set JWT_SECRET or JWT_PRIVATE_KEY")
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": username,
        "iss": config.issuer,
        "aud": config.audience,
        "iat": now,
        "nbf": now,
        "exp": now + dt.timedelta(minutes=minutes),
    }
    return jwt.encode(claims, config.signing_key, algorithm=config.algorithm)


# Tokens whose signature and claims were checked: (config, token) → (subject, nbf, exp).
# Only time can make such a token invalid, so a hit checks the clock and nothing else.
_verified: LRUCache[tuple[AuthConfig, str], tuple[str, float, float]] = LRUCache(maxsize=10_000)


def verify_token(config: AuthConfig, token: str) -> str:
    """The token's subject (a username), or AuthError."""
    known = _verified.get((config, token))
    if known is not None:
        subject, not_before, expires = known
        now = time.time()
        if not_before - config.leeway_seconds <= now < expires + config.leeway_seconds:
            return subject
    try:
        claims = jwt.decode(
            token,
            config.verify_key,
            algorithms=[config.algorithm],
            audience=config.audience,
            issuer=config.issuer,
            leeway=config.leeway_seconds,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise AuthError(f"invalid token: {error}") from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise AuthError("invalid token: no subject")
    expires, not_before = claims["exp"], claims.get("nbf", 0)
    if isinstance(expires, int | float) and isinstance(not_before, int | float):
        _verified[(config, token)] = (subject, float(not_before), float(expires))
    return subject


async def authenticate(session: AsyncSession, config: AuthConfig, credential: str) -> Principal:
    """The principal a bearer credential names, with their role assignments."""
    parts = split_api_key(credential)
    if parts is not None:
        return await principal_of_key(session, *parts)
    return await principal_of_user(session, verify_token(config, credential))


class PrincipalCache:
    """Principals by (credential identity, policy version), bounded.

    Every grant, revocation, key revocation or policy change bumps the policy
    version, so an entry is exact for as long as its version is current: the
    cache never answers with a revoked right. A token is verified on every
    request: its signature and claims once per process (``verify_token`` keeps
    what it verified), its expiry against the clock each time.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, int], Principal] = OrderedDict()

    @staticmethod
    def identity(config: AuthConfig, credential: str) -> str:
        """Who the credential claims to be (a token is verified here), or AuthError."""
        if split_api_key(credential) is None:
            return "user:" + verify_token(config, credential)
        return "key:" + key_digest(credential)

    def cached(self, identity: str, version: int) -> Principal | None:
        """The principal of ``identity`` at ``version``, if in hand (no database)."""
        key = (identity, version)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    async def load(
        self,
        session: AsyncSession,
        config: AuthConfig,
        credential: str,
        identity: str,
        version: int,
    ) -> Principal:
        """Authenticate against the database and keep the principal for ``version``."""
        found = await authenticate(session, config, credential)
        self._entries[(identity, version)] = found
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return found

    async def principal(
        self, session: AsyncSession, config: AuthConfig, credential: str, version: int
    ) -> Principal:
        identity = self.identity(config, credential)
        found = self.cached(identity, version)
        if found is None:
            found = await self.load(session, config, credential, identity, version)
        return found
