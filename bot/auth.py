"""Checks the Bot Framework token on every inbound request.

Production: the OpenID metadata and signing keys of the Bot Framework. Tests: a key
pair made at test time, served on loopback. Any failure is an AuthError, which the
server answers with 401 — never 500 (botbuilder's own validator answers 500 or
raises IndexError for some of these; see docs/platform-notes.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 300
VERIFIED_CACHE_SIZE = 10_000
KEYS_REFRESH_SECONDS = 24 * 3600
UNKNOWN_KID_REFRESH_SECONDS = 300


class AuthError(Exception):
    """The request is not from the channel it claims to be from."""


@dataclass
class _Keys:
    by_kid: dict[str, tuple[Any, list[str]]]  # kid -> (public key, endorsements)
    fetched_at: float


class TokenValidator:
    def __init__(self, *, metadata_url: str, issuer: str, app_id: str,
                 session: aiohttp.ClientSession) -> None:
        self.metadata_url = metadata_url
        self.issuer = issuer
        self.app_id = app_id
        self.session = session
        self._keys: _Keys | None = None
        self._lock = asyncio.Lock()
        self._last_forced = 0.0
        # Teams reuses a token for up to an hour: a token already verified for this
        # service URL and channel is not parsed and RSA-verified again until it expires
        self._verified: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}

    async def validate(self, authorization: str | None, *, service_url: str,
                       channel_id: str) -> dict[str, Any]:
        """Return the token's claims, or raise AuthError saying why."""
        key = (authorization or "", service_url, channel_id)
        hit = self._verified.get(key)
        if hit is not None and time.time() < hit[0]:
            return hit[1]
        claims = await self._validate(authorization, service_url=service_url,
                                      channel_id=channel_id)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[key] = (float(claims["exp"]), claims)
        return claims

    async def _validate(self, authorization: str | None, *, service_url: str,
                        channel_id: str) -> dict[str, Any]:
        if not authorization:
            raise AuthError("no Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("Authorization is not a bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed token: {exc}") from None
        if header.get("alg") != "RS256":
            raise AuthError("token is not signed with RS256")
        key, endorsements = await self._key(str(header.get("kid", "")))
        if channel_id and endorsements and channel_id not in endorsements:
            raise AuthError(f"signing key is not endorsed for channel {channel_id}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=["RS256"], audience=self.app_id,
                issuer=self.issuer, leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as exc:
            raise AuthError(f"token rejected: {exc}") from None
        claimed = str(claims.get("serviceurl") or claims.get("serviceUrl") or "")
        if claimed.rstrip("/") != service_url.rstrip("/"):
            raise AuthError("token's serviceurl does not match the activity")
        return claims

    async def _key(self, kid: str) -> tuple[Any, list[str]]:
        keys = self._keys
        stale = keys is None or time.monotonic() - keys.fetched_at > KEYS_REFRESH_SECONDS
        if stale or (kid not in keys.by_kid and   # type: ignore[union-attr]
                     time.monotonic() - self._last_forced > UNKNOWN_KID_REFRESH_SECONDS):
            async with self._lock:
                if self._keys is keys:  # nobody refreshed while we waited
                    if not stale:
                        self._last_forced = time.monotonic()
                    self._keys = await self._fetch()
            keys = self._keys
        assert keys is not None
        found = keys.by_kid.get(kid)
        if found is None:
            raise AuthError("token signed with an unknown key")
        return found

    async def _fetch(self) -> _Keys:
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with self.session.get(self.metadata_url, timeout=timeout) as response:
                response.raise_for_status()
                metadata = await response.json(content_type=None)
            async with self.session.get(metadata["jwks_uri"], timeout=timeout) as response:
                response.raise_for_status()
                jwks = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, KeyError, ValueError) as exc:
            log.error("could not fetch signing keys from %s: %s", self.metadata_url, exc)
            if self._keys is not None:
                return self._keys  # keep the keys we had
            raise AuthError("signing keys unavailable") from None
        by_kid = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") != "RSA" or "kid" not in jwk:
                continue
            by_kid[jwk["kid"]] = (RSAAlgorithm.from_jwk(json.dumps(jwk)),
                                  list(jwk.get("endorsements") or []))
        log.info("loaded %d signing keys", len(by_kid))
        return _Keys(by_kid, time.monotonic())
