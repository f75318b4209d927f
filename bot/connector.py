"""Outbound calls to the Bot Connector and the Teams meeting API, with aiohttp.

botbuilder's connector client is synchronous (msrest + requests) and rebuilt per
turn, and its meeting-participant call uses the wrong URL; these few REST calls are
made here instead, on one shared session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

from bot.download_hosts import DEFAULT_DOWNLOAD_HOSTS, DownloadHosts, HostNotAllowed

log = logging.getLogger(__name__)


MAX_REDIRECTS = 5
DOWNLOAD_SECONDS = 60.0
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class ConnectorError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"connector answered {status}: {message}")


class FileTooLarge(ConnectorError):
    """A download refused for its size. `size` is the file's size in bytes when the
    server said it (Content-Length); None when it passed `limit` while being read."""

    def __init__(self, limit: int, size: int | None) -> None:
        self.limit = limit
        self.size = size
        super().__init__(
            413, f"file of {size or 'more than ' + str(limit)} bytes is over the {limit}-byte limit"
        )


class TokenSource(Protocol):
    async def token(self) -> str | None: ...


class NoToken:
    """Local stand-ins (the Agents Playground, test stubs) take no token."""

    async def token(self) -> str | None:
        return None


class AzureIdentityToken:
    """A Bot Connector token from azure-identity, cached until shortly before expiry."""

    def __init__(self, credential: Any, scope: str) -> None:
        self.credential = credential  # an azure.identity.aio credential
        self.scope = scope
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str | None:
        if self._token and time.time() < self._expires - 300:
            return self._token
        async with self._lock:
            if not self._token or time.time() >= self._expires - 300:
                access = await self.credential.get_token(self.scope)
                self._token, self._expires = access.token, float(access.expires_on)
        return self._token


def _safe_base(service_url: str) -> str:
    parts = urlsplit(service_url)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConnectorError(400, f"refusing service URL {service_url!r}")
    return service_url.rstrip("/")


class Connector:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenSource,
        download_hosts: DownloadHosts | None = None,
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.download_hosts = download_hosts or DownloadHosts(DEFAULT_DOWNLOAD_HOSTS)

    async def _call(self, method: str, url: str, body: Any = None) -> Any:
        headers = {}
        token = await self.tokens.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in range(3):
            async with self.session.request(
                method, url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=15)
            ) as r:
                if r.status in (429, 502, 503, 504) and attempt < 2:
                    retry_after = r.headers.get("Retry-After", "")
                    delay = float(retry_after) if retry_after.isdigit() else 0.5 * 2**attempt
                    await asyncio.sleep(min(delay, 10.0))
                    continue
                text = await r.text()
                if r.status >= 400:
                    raise ConnectorError(r.status, text[:200])
                if not text:
                    return {}
                try:
                    return await r.json(content_type=None)
                except ValueError:
                    return {}
        raise ConnectorError(503, "gave up after retries")  # pragma: no cover

    async def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        url = f"{_safe_base(service_url)}/v3/conversations/{quote(conversation_id)}/activities"
        result = await self._call("POST", url, activity)
        return str(result.get("id", ""))

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> None:
        url = (
            f"{_safe_base(service_url)}/v3/conversations/{quote(conversation_id)}"
            f"/activities/{quote(activity_id)}"
        )
        await self._call("PUT", url, {**activity, "id": activity_id})

    async def create_personal_chat(
        self, service_url: str, *, bot_id: str, user_id: str, tenant_id: str
    ) -> str:
        url = f"{_safe_base(service_url)}/v3/conversations"
        body = {
            "bot": {"id": bot_id},
            "members": [{"id": user_id}],
            "isGroup": False,
            "tenantId": tenant_id,
            "channelData": {"tenant": {"id": tenant_id}},
        }
        result = await self._call("POST", url, body)
        return str(result.get("id", ""))

    async def member(self, service_url: str, conversation_id: str, user_id: str) -> dict[str, Any]:
        url = (
            f"{_safe_base(service_url)}/v3/conversations/{quote(conversation_id)}"
            f"/members/{quote(user_id)}"
        )
        result: dict[str, Any] = await self._call("GET", url)
        return result

    async def download(self, url: str, max_bytes: int) -> bytes:
        """A file a user shared with the bot (Teams gives a pre-authorised URL; its
        file.download.info attachment does not give the size). Only from the hosts in
        PEP_DOWNLOAD_HOSTS, every redirect checked against the same list (followed
        here, at most MAX_REDIRECTS); any refusal or network failure is one
        ConnectorError, so a caller cannot tell a refused host from a closed port.
        Over `max_bytes` it is FileTooLarge: refused unread when the server says its
        size, else as soon as the bytes read pass the limit."""
        try:
            async with asyncio.timeout(DOWNLOAD_SECONDS):  # every hop together
                return await self._download(url, max_bytes)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.info("a download failed: %s", type(exc).__name__)
            raise ConnectorError(502, "download failed") from exc

    async def _download(self, url: str, max_bytes: int) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                self.download_hosts.check(url)
            except HostNotAllowed as exc:
                log.warning("refused a download: %s", exc)  # the host, never the path
                raise ConnectorError(403, "download failed") from exc
            async with self.session.get(url, allow_redirects=False) as r:
                if r.status in REDIRECTS and "Location" in r.headers:
                    url = str(r.url.join(URL(r.headers["Location"])))
                    continue
                if r.status >= 300:
                    raise ConnectorError(r.status, "download failed")
                if r.content_length and r.content_length > max_bytes:
                    raise FileTooLarge(max_bytes, r.content_length)
                data = bytearray()
                async for chunk in r.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > max_bytes:
                        raise FileTooLarge(max_bytes, None)
                return bytes(data)
        raise ConnectorError(508, "download failed: too many redirects")

    async def upload(self, url: str, content: bytes) -> None:
        """PUT a file to the upload URL Teams gave after the user accepted it."""
        _safe_base(url)
        headers = {
            "Content-Length": str(len(content)),
            "Content-Range": f"bytes 0-{len(content) - 1}/{len(content)}",
        }
        async with self.session.put(
            url, data=content, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
        ) as r:
            if r.status >= 400:
                raise ConnectorError(r.status, "upload failed")
