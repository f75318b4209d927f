"""Building the msgraph-sdk client: our middleware (no RetryHandler), a settable base URL
and the credential.

Why no RetryHandler: kiota_http's RetryHandler retries 429/503/504 for every method,
POST included (kiota_http/middleware/retry_handler.py, DEFAULT_ALLOWED_METHODS), up to 3
times by default, sleeping for Retry-After inside the request. A retried sendMail can
deliver a message twice, and a request can sit in the handler for minutes. Our outbox
dispatcher retries instead, honouring DeliveryError.retry_after. See docs/graph.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_abstractions.request_option import RequestOption
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.middleware import BaseMiddleware
from kiota_http.middleware.options import UrlReplaceHandlerOption
from msgraph._version import VERSION as MSGRAPH_VERSION
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import APIVersion, GraphClientFactory
from msgraph_core.authentication import AzureIdentityAuthenticationProvider
from msgraph_core.middleware import GraphTelemetryHandler
from msgraph_core.middleware.options import GraphTelemetryHandlerOption

GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def graph_middleware() -> list[BaseMiddleware]:
    """msgraph-sdk's default pipeline (what GraphRequestAdapter builds when given no
    client) minus the RetryHandler: redirect, parameter-name decoding, URL replace
    (/users/me-token-to-replace → /me), user agent, header and body inspection, then
    Graph telemetry (SdkVersion and client-request-id headers)."""
    options: dict[str, RequestOption] = {
        UrlReplaceHandlerOption.get_key(): UrlReplaceHandlerOption(
            enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"}
        ),
    }
    middleware = [
        m
        for m in KiotaClientFactory.get_default_middleware(options)
        if not isinstance(m, RetryHandler)
    ]
    middleware.append(
        GraphTelemetryHandler(
            GraphTelemetryHandlerOption(api_version=APIVersion.v1, sdk_version=MSGRAPH_VERSION)
        )
    )
    return middleware


def _checked_base_url(base_url: str) -> tuple[str, str]:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if not host or parts.scheme not in ("https", "http"):
        raise ValueError(f"PEP_GRAPH_BASE_URL must be an absolute URL, not {base_url!r}")
    if parts.scheme == "http" and host not in _LOOPBACK:
        raise ValueError(
            f"plain http is allowed for a loopback Graph (tests) only; use https for {host}"
        )
    return base_url.rstrip("/"), host


def make_graph_client(
    credential: AsyncTokenCredential,
    base_url: str = GRAPH_BASE_URL,
    *,
    scopes: Sequence[str] = (GRAPH_SCOPE,),
    timeout: float = 60.0,
) -> GraphServiceClient:
    """A GraphServiceClient with no retrying middleware, talking to base_url, sending the
    credential's token only to base_url's host. Close it with close_graph_client; the
    credential stays the caller's to close."""
    base, host = _checked_base_url(base_url)
    http_client = httpx.AsyncClient(
        base_url=base, http2=True, timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0))
    )
    http_client = GraphClientFactory.create_with_custom_middleware(
        graph_middleware(), client=http_client
    )
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=list(scopes), allowed_hosts=[host]
    )
    adapter = GraphRequestAdapter(auth, client=http_client)
    adapter.base_url = base
    return GraphServiceClient(request_adapter=adapter)


async def close_graph_client(client: GraphServiceClient) -> None:
    """Close the HTTP connections of a client from make_graph_client.

    Two SDK gaps: kiota's HttpxRequestAdapter keeps its httpx client in a private
    attribute and has no close; and msgraph_core's AsyncGraphTransport (which wraps
    httpx's transport) has no aclose, so AsyncClient.aclose() leaves the connection pool
    open. Close the wrapped transport ourselves."""
    http_client = getattr(client.request_adapter, "_http_client", None)
    if not isinstance(http_client, httpx.AsyncClient):
        return
    transports = [http_client._transport, *(t for t in http_client._mounts.values() if t)]
    await http_client.aclose()
    for transport in transports:
        inner = getattr(transport, "transport", None)
        if isinstance(inner, httpx.AsyncBaseTransport):
            await inner.aclose()


def make_credential(
    tenant_id: str,
    client_id: str,
    *,
    client_secret: str | None = None,
    certificate_path: str | None = None,
    managed_identity: bool = False,
) -> AsyncTokenCredential:
    """The app-only credential for Graph: exactly one of a client secret, a certificate
    (PEM or PKCS12 file holding the private key) or a managed identity (client_id is then
    the user-assigned identity's client id; empty for the system-assigned one)."""
    chosen = [bool(client_secret), bool(certificate_path), managed_identity]
    if sum(chosen) != 1:
        raise ValueError(
            "set exactly one of PEP_GRAPH_CLIENT_SECRET, "
            "PEP_GRAPH_CERTIFICATE_PATH or PEP_GRAPH_MANAGED_IDENTITY=true"
        )
    from azure.identity.aio import (
        CertificateCredential,
        ClientSecretCredential,
        ManagedIdentityCredential,
    )

    if managed_identity:
        return ManagedIdentityCredential(client_id=client_id or None)
    if not tenant_id or not client_id:
        raise ValueError("PEP_GRAPH_TENANT_ID and PEP_GRAPH_CLIENT_ID are required")
    if client_secret:
        return ClientSecretCredential(tenant_id, client_id, client_secret)
    return CertificateCredential(tenant_id, client_id, certificate_path)
