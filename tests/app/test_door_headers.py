"""Credentials sent twice are refused: the door does not guess which copy counts.

Two ``Authorization`` headers (or two ``X-API-Key``) — whichever order, valid or
not, equal or not — are answered 400 with the code ``DUPLICATE_CREDENTIALS`` and
no data, on every route behind the door. One of each header still works as
before (the API key counts).
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from tests.conftest import token_for
from tests.helpers import TESTER, make_tree

ROUTES = [
    ("POST", "/graphql"),
    ("GET", "/graphql?query=%7Bme%7Busername%7D%7D"),
    ("GET", "/ledgers/template.xlsx"),
    ("GET", "/ledgers/export.xlsx?area=519902"),
    ("GET", "/reports/households.csv?area=519902"),
]


async def test_a_credential_header_sent_twice_is_refused(
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    subtests: pytest.Subtests,
) -> None:
    await make_tree(sessionmaker)
    good = f"Bearer {token_for(settings, TESTER)}".encode()
    other = f"Bearer {token_for(settings, 'someone-else')}".encode()
    pairs = {
        "two valid Authorization": [(b"authorization", good), (b"authorization", good)],
        "valid then invalid": [(b"authorization", good), (b"authorization", b"Bearer nope")],
        "invalid then valid": [(b"authorization", b"Bearer nope"), (b"authorization", good)],
        "two users": [(b"authorization", other), (b"authorization", good)],
        "two X-API-Key": [(b"x-api-key", b"gr_a_b"), (b"x-api-key", b"gr_c_d")],
        "X-API-Key twice, Authorization once": [
            (b"authorization", good),
            (b"x-api-key", b"gr_a_b"),
            (b"X-Api-Key", b"gr_a_b"),
        ],
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for name, headers in pairs.items():
            for method, target in ROUTES:
                with subtests.test(headers=name, route=f"{method} {target}"):
                    content = b'{"query": "{ me { username } }"}' if method == "POST" else b""
                    request = http.build_request(method, target, content=content)
                    request.headers = httpx.Headers(
                        [(b"content-type", b"application/json"), *headers]
                    )
                    response = await http.send(request)
                    assert response.status_code == 400, response.text
                    assert response.json() == {
                        "errors": [
                            {
                                "message": response.json()["errors"][0]["message"],
                                "extensions": {"code": "DUPLICATE_CREDENTIALS"},
                            }
                        ]
                    }
        # Once each: answered as before.
        response = await http.post(
            "/graphql",
            json={"query": "{ me { username } }"},
            headers={"authorization": good.decode()},
        )
        assert response.json() == {"data": {"me": {"username": TESTER}}}
