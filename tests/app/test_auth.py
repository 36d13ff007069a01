"""Authentication: no data without valid credentials; JWT claims; API keys."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.main import create_app
from app.settings import DEVELOPMENT_SECRET, Environment, Settings
from app.system import system_context
from resolvers.access import keys as access_keys
from tests.conftest import TESTER
from tests.helpers import Tree, make_tree

ME = {"query": "{ me { username roles { role } } }"}


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


def claims(**overrides: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "sub": TESTER,
        "iss": "grassroots",
        "aud": "grassroots",
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def status_with(app: Starlette, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.post("/graphql", json=ME, headers=headers)
    return response.status_code, response.json()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.usefixtures("tree")
async def test_a_valid_token_names_the_user(app: Starlette) -> None:
    status, body = await status_with(app, bearer(jwt.encode(claims(), DEVELOPMENT_SECRET)))
    assert status == 200
    assert body["data"]["me"] == {"username": TESTER, "roles": [{"role": "county_leader"}]}


def _quietly(make: Callable[[], str]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the key is short for HS512: that is the point
        return make()


NOW = dt.datetime.now(dt.UTC)
BAD_TOKENS = {
    "no header": None,
    "garbage": "not.a.token",
    "wrong secret": jwt.encode(claims(), "another-secret-of-sufficient-length-xx"),
    "expired": jwt.encode(claims(exp=NOW - dt.timedelta(minutes=5)), DEVELOPMENT_SECRET),
    "not yet valid": jwt.encode(claims(nbf=NOW + dt.timedelta(hours=1)), DEVELOPMENT_SECRET),
    "wrong issuer": jwt.encode(claims(iss="someone-else"), DEVELOPMENT_SECRET),
    "wrong audience": jwt.encode(claims(aud="another-service"), DEVELOPMENT_SECRET),
    "no expiry": jwt.encode(claims(exp=None), DEVELOPMENT_SECRET),
    "no subject": jwt.encode(claims(sub=None), DEVELOPMENT_SECRET),
    "unknown user": jwt.encode(claims(sub="nobody"), DEVELOPMENT_SECRET),
    "alg none": jwt.encode(claims(), None, algorithm="none"),  # type: ignore[arg-type]
    "other HMAC": _quietly(lambda: jwt.encode(claims(), DEVELOPMENT_SECRET, algorithm="HS512")),
    "bad api key": "gr_000000000000_nope",
}


@pytest.mark.usefixtures("tree")
@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_credentials_get_401_and_no_data(app: Starlette, case: str) -> None:
    token = BAD_TOKENS[case]
    status, body = await status_with(app, {} if token is None else bearer(token))
    assert status == 401
    assert "data" not in body
    assert body["errors"][0]["message"] in ("authentication required", "invalid credentials")


async def test_files_and_graphql_get_need_credentials_too(anonymous: httpx.AsyncClient) -> None:
    async with anonymous:
        assert (await anonymous.get("/ledgers/template.xlsx")).status_code == 401
        assert (await anonymous.get("/ledgers/export.xlsx?area=519902")).status_code == 401
        assert (await anonymous.get("/graphql?query={me{username}}")).status_code == 401
        assert (await anonymous.get("/healthz")).status_code == 200


@pytest.fixture
def rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.mark.usefixtures("tree")
async def test_rs256_accepts_its_keys_and_refuses_algorithm_confusion(
    settings: Settings, rsa_keys: tuple[str, str]
) -> None:
    private, public = rsa_keys
    rs = settings.model_copy(update={"jwt_algorithm": "RS256", "jwt_public_key": public})
    app = create_app(rs)
    async with app.router.lifespan_context(app):
        good = jwt.encode(claims(), private, algorithm="RS256")
        assert (await status_with(app, bearer(good)))[0] == 200
        # The classic confusion: an HS256 token whose HMAC key is the public key's text.
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = {
            k: int(v.timestamp()) if isinstance(v, dt.datetime) else v for k, v in claims().items()
        }
        body = _b64(json.dumps(payload).encode())
        signature = _b64(hmac.new(public.encode(), header + b"." + body, hashlib.sha256).digest())
        confused = (header + b"." + body + b"." + signature).decode()
        for token in (confused, jwt.encode(claims(), DEVELOPMENT_SECRET)):
            assert (await status_with(app, bearer(token)))[0] == 401


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


async def test_production_refuses_the_development_secret(settings: Settings) -> None:
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(database_url=settings.database_url, environment=Environment.PRODUCTION)


@pytest.mark.usefixtures("tree")
async def test_api_keys_work_until_revoked(app: Starlette, settings: Settings) -> None:
    async with system_context(settings) as context:
        outcome = await access_keys.create_api_key(context, username=TESTER, name="report tool")
    key = outcome.value
    assert key is not None and key.startswith("gr_")
    assert (await status_with(app, {"x-api-key": key}))[0] == 200
    assert (await status_with(app, bearer(key)))[0] == 200
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert (await status_with(app, {"x-api-key": tampered}))[0] == 401
    async with system_context(settings) as context:
        prefix = key.removeprefix("gr_").split("_")[0]
        assert (await access_keys.revoke_api_key(context, prefix=prefix)).value is True
    assert (await status_with(app, {"x-api-key": key}))[0] == 401


@pytest.mark.usefixtures("tree")
async def test_introspection_off_in_production(settings: Settings) -> None:
    production = settings.model_copy(
        update={"environment": Environment.PRODUCTION, "introspection": None}
    )
    app = create_app(production)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        token = jwt.encode(claims(), DEVELOPMENT_SECRET)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            body = (
                await http.post(
                    "/graphql",
                    json={"query": "{ __schema { types { name } } }"},
                    headers=bearer(token),
                )
            ).json()
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()
