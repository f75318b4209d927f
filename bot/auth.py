"""Checks the Bot Framework token on every inbound request, and that the activity is
one the token vouches for.

Production: the OpenID metadata and signing keys of the Bot Framework. Tests: a key
pair made at test time, served on loopback. Any failure is an AuthError, which the
server answers with 401 — never 500 (botbuilder's own validator answers 500 or
raises IndexError for some of these; see docs/platform-notes.md).

The token is checked before the body is read (`TokenValidator.validate`); what it says
about the activity — its service URL, and a signing key endorsed for Teams — once the
body is parsed (`VerifiedToken.vouch_for`). Only Microsoft Teams activities are served
(`TEAMS_CHANNEL`): an activity from any other channel, or naming none, is refused by
the server with 403 whether authentication is on or off (`channel_refusal`).
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
TEAMS_CHANNEL = "msteams"


class AuthError(Exception):
    """The request is not from the channel it claims to be from."""


def channel_refusal(channel_id: Any) -> str | None:
    """Why an activity's channel is refused (None: it is Teams). Exactly "msteams": the
    Bot Framework's own check lets an activity without a channel id through."""
    if channel_id == TEAMS_CHANNEL:
        return None
    if not channel_id:
        return "the activity names no channel; only Microsoft Teams is served"
    return "only Microsoft Teams activities are accepted"


@dataclass(frozen=True)
class VerifiedToken:
    """A token whose signature, issuer, audience and expiry are checked."""

    claims: dict[str, Any]
    endorsements: frozenset[str]  # the channels its signing key may sign for

    def vouch_for(self, *, service_url: str, channel_id: str) -> None:
        """Raise AuthError unless the token was issued for this activity: its
        `serviceurl` claim is the activity's, and its signing key is endorsed for the
        activity's channel (which the server has already required to be Teams)."""
        if not channel_id or channel_id not in self.endorsements:
            raise AuthError(f"signing key is not endorsed for channel {channel_id!r}")
        claimed = str(self.claims.get("serviceurl") or self.claims.get("serviceUrl") or "")
        if claimed.rstrip("/") != service_url.rstrip("/"):
            raise AuthError("token's serviceurl does not match the activity")


@dataclass
class _Keys:
    by_kid: dict[str, tuple[Any, frozenset[str]]]  # kid -> (public key, endorsements)
    fetched_at: float


class TokenValidator:
    def __init__(
        self, *, metadata_url: str, issuer: str, app_id: str, session: aiohttp.ClientSession
    ) -> None:
        self.metadata_url = metadata_url
        self.issuer = issuer
        self.app_id = app_id
        self.session = session
        self._keys: _Keys | None = None
        self._lock = asyncio.Lock()
        self._last_forced = 0.0
        # Teams reuses a token for up to an hour: a token already verified is not
        # parsed and RSA-verified again until it expires
        self._verified: dict[str, tuple[float, VerifiedToken]] = {}

    async def validate(self, authorization: str | None) -> VerifiedToken:
        """The verified token of an Authorization header, or AuthError saying why. Needs
        nothing from the body: a request without a good token is refused unread."""
        key = authorization or ""
        hit = self._verified.get(key)
        if hit is not None and time.time() < hit[0]:
            return hit[1]
        token = await self._validate(authorization)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[key] = (float(token.claims["exp"]), token)
        return token

    async def _validate(self, authorization: str | None) -> VerifiedToken:
        if not authorization:
            raise AuthError("no Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("Authorization is not a bearer token")
        if not token.isascii():  # aiohttp hands other bytes on as surrogates; PyJWT
            raise AuthError("malformed token: not ASCII")  # would raise UnicodeError
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed token: {exc}") from None
        if header.get("alg") != "RS256":
            raise AuthError("token is not signed with RS256")
        key, endorsements = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"token rejected: {exc}") from None
        return VerifiedToken(claims, endorsements)

    async def _key(self, kid: str) -> tuple[Any, frozenset[str]]:
        keys = self._keys
        stale = keys is None or time.monotonic() - keys.fetched_at > KEYS_REFRESH_SECONDS
        if stale or (
            kid not in keys.by_kid  # type: ignore[union-attr]
            and time.monotonic() - self._last_forced > UNKNOWN_KID_REFRESH_SECONDS
        ):
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
            endorsements = jwk.get("endorsements")
            endorsements = endorsements if isinstance(endorsements, list) else []
            by_kid[jwk["kid"]] = (
                RSAAlgorithm.from_jwk(json.dumps(jwk)),
                frozenset(e for e in endorsements if isinstance(e, str)),
            )
        log.info("loaded %d signing keys", len(by_kid))
        return _Keys(by_kid, time.monotonic())
