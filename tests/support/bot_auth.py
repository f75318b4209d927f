"""A local stand-in for the Bot Framework's token service: a key pair made at test
time, OpenID metadata and JWKS served on loopback, and RS256 tokens signed with it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.loopback import serve

ISSUER = "https://api.botframework.com"
APP_ID = "11111111-2222-3333-4444-555555555555"


class TokenAuthority:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # the channels the signing key may sign for, as the Bot Framework publishes them
        self.endorsements = ["msteams", "webchat"]
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(
            {"kid": self.kid, "use": "sig", "alg": "RS256", "endorsements": self.endorsements}
        )
        return {"keys": [jwk]}

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    async def __aenter__(self) -> TokenAuthority:
        app = web.Application()

        async def metadata(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "issuer": ISSUER,
                    "jwks_uri": f"{self.base_url}/v1/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def keys(request: web.Request) -> web.Response:
            return web.json_response(self.jwks())

        app.router.add_get("/v1/.well-known/openidconfiguration", metadata)
        app.router.add_get("/v1/keys", keys)
        self._runner, self.base_url = await serve(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner:
            await self._runner.cleanup()

    def token(
        self,
        service_url: str,
        *,
        audience: str = APP_ID,
        issuer: str = ISSUER,
        expires_in: int = 3600,
        kid: str | None = None,
        wrong_key: bool = False,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + expires_in,
            "serviceurl": service_url,
            **extra,
        }
        key = self.other_key if wrong_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid or self.kid})

    def header(self, service_url: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(service_url, **kw)}"}
