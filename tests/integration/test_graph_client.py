"""Building the Graph client and credential, choosing adapters, reading Graph's answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from azure.identity.aio import (
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from kiota_http.middleware import RetryHandler
from msgraph import GraphServiceClient

from graph.client import (
    GRAPH_BASE_URL,
    close_graph_client,
    graph_middleware,
    make_credential,
    make_graph_client,
)
from graph.errors import from_status, retry_after_seconds
from graph.meeting_chat import odata_string, thread_id_from_join_url
from graph.msgraph_adapters import GraphCalendar, GraphDirectory
from graph.outbox_files import FileCalendar, FileDirectory
from graph.wiring import M365Settings, open_m365
from pep_model.m365 import DeliveryError
from tests.support.fake_graph import FakeGraph, FixedTokenCredential


def _pipeline(client: GraphServiceClient) -> list[str]:
    http_client = client.request_adapter._http_client  # type: ignore[attr-defined]
    middleware = http_client._transport.pipeline._first_middleware
    names = []
    while middleware is not None:
        names.append(type(middleware).__name__)
        middleware = middleware.next
    return names


async def test_the_client_has_no_retry_handler_and_the_given_base_url() -> None:
    assert not any(isinstance(m, RetryHandler) for m in graph_middleware())
    client = make_graph_client(FixedTokenCredential("t"), "http://127.0.0.1:9/v1.0/")
    try:
        names = _pipeline(client)
        assert "RetryHandler" not in names
        assert names[0] == "RedirectHandler" and names[-1] == "GraphTelemetryHandler"
        assert client.request_adapter.base_url == "http://127.0.0.1:9/v1.0"
    finally:
        await close_graph_client(client)


async def test_the_default_base_url_is_graph_v1() -> None:
    client = make_graph_client(FixedTokenCredential("t"))
    try:
        assert client.request_adapter.base_url == GRAPH_BASE_URL
    finally:
        await close_graph_client(client)


def test_plain_http_is_for_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        make_graph_client(FixedTokenCredential("t"), "http://graph.example.org/v1.0")
    with pytest.raises(ValueError):
        make_graph_client(FixedTokenCredential("t"), "graph.microsoft.com/v1.0")


async def test_the_token_goes_only_to_the_base_urls_host() -> None:
    async with FakeGraph() as fake:
        fake.add_user("sam@northvale.gov.uk", "Sam")
        credential = FixedTokenCredential(fake.token)
        client = make_graph_client(credential, fake.base_url)
        provider = client.request_adapter._authentication_provider  # type: ignore[attr-defined]
        validator = provider.access_token_provider.get_allowed_hosts_validator()
        try:
            assert validator.get_allowed_hosts() == ["127.0.0.1"]
            await GraphCalendar(client).cancel_meeting("x", "sam@northvale.gov.uk", "")
            assert fake.requests[-1].headers["Authorization"] == f"Bearer {fake.token}"
            assert credential.calls[-1] == ("https://graph.microsoft.com/.default",)

            # msgraph_core's default allowed hosts (the national clouds) would send
            # no token to any other host: the request goes out unauthenticated.
            validator.set_allowed_hosts(["graph.microsoft.com"])
            with pytest.raises(DeliveryError) as caught:
                await GraphCalendar(client).cancel_meeting("x", "sam@northvale.gov.uk", "")
            assert caught.value.status == 401
            assert "Authorization" not in fake.requests[-1].headers
        finally:
            await close_graph_client(client)


async def test_closing_the_client_closes_its_connection_pool() -> None:
    # msgraph_core's AsyncGraphTransport has no aclose: AsyncClient.aclose alone would
    # leave the pooled connections open.
    async with FakeGraph() as fake:
        fake.add_user("sam@northvale.gov.uk", "Sam")
        client = make_graph_client(FixedTokenCredential(fake.token), fake.base_url)
        http_client = client.request_adapter._http_client  # type: ignore[attr-defined]
        inner = http_client._transport.transport
        await GraphDirectory(client).object_id_for("sam@northvale.gov.uk")
        assert len(inner._pool.connections) == 1
        await close_graph_client(client)
        assert inner._pool.connections == []


def _certificate(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pep-companion-test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "graph.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return path


async def test_make_credential_picks_exactly_one_kind(tmp_path: Path) -> None:
    tenant, client_id = "11111111-2222-3333-4444-555555555555", "app-client-id"
    secret = make_credential(tenant, client_id, client_secret="generated-in-test")
    certificate = make_credential(tenant, client_id, certificate_path=str(_certificate(tmp_path)))
    managed = make_credential("", "", managed_identity=True)
    try:
        assert isinstance(secret, ClientSecretCredential)
        assert isinstance(certificate, CertificateCredential)
        assert isinstance(managed, ManagedIdentityCredential)
    finally:
        for credential in (secret, certificate, managed):
            await credential.close()
    with pytest.raises(ValueError, match="exactly one"):
        make_credential(tenant, client_id)
    with pytest.raises(ValueError, match="exactly one"):
        make_credential(tenant, client_id, client_secret="s", managed_identity=True)
    with pytest.raises(ValueError, match="required"):
        make_credential("", client_id, client_secret="s")


def test_settings_from_the_environment() -> None:
    assert not M365Settings.from_env({}).uses_graph
    assert M365Settings.from_env({}).outbox_dir == Path("outbox")
    settings = M365Settings.from_env(
        {
            "PEP_GRAPH_TENANT_ID": "t",
            "PEP_GRAPH_CLIENT_ID": "c",
            "PEP_GRAPH_CLIENT_SECRET": "generated-secret",
            "PEP_GRAPH_BASE_URL": "http://127.0.0.1:1/v1.0",
            "PEP_MAIL_SENDER": "pep@northvale.gov.uk",
            "PEP_TEAMS_APP_ID": "app",
            "PEP_OUTBOX_DIR": "/tmp/x",
        }
    )
    assert settings.uses_graph and settings.client_secret == "generated-secret"
    assert settings.base_url == "http://127.0.0.1:1/v1.0"
    assert settings.outbox_dir == Path("/tmp/x") and settings.teams_app_id == "app"
    assert "generated-secret" not in repr(settings)
    assert M365Settings.from_env({"PEP_GRAPH_MANAGED_IDENTITY": "true"}).uses_graph


async def test_without_a_tenant_the_outbox_folder_is_used(tmp_path: Path) -> None:
    async with open_m365(M365Settings(outbox_dir=tmp_path)) as m365:
        assert not m365.online
        assert isinstance(m365.calendar, FileCalendar)
        assert isinstance(m365.directory, FileDirectory)


async def test_with_a_tenant_graph_is_used_without_touching_the_network() -> None:
    settings = M365Settings(
        tenant_id="11111111-2222-3333-4444-555555555555",
        client_id="c",
        client_secret="generated-in-test",
        mail_sender="pep@northvale.gov.uk",
        teams_app_id="app",
    )
    async with open_m365(settings) as m365:
        assert m365.online and isinstance(m365.calendar, GraphCalendar)
    with pytest.raises(ValueError, match="PEP_MAIL_SENDER"):
        async with open_m365(M365Settings(tenant_id="t", client_id="c", client_secret="s")):
            pass


@pytest.mark.parametrize(
    ("join_url", "thread"),
    [
        (
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjM4ZTk5YjEtYjQ0%40thread.v2/0"
            "?context=%7b%22Tid%22%3a%22t%22%7d",
            "19:meeting_NjM4ZTk5YjEtYjQ0@thread.v2",
        ),
        (
            "https://teams.microsoft.com/l/meetup-join/19%253ameeting_abc%2540thread.v2/0",
            "19:meeting_abc@thread.v2",
        ),
        (
            "https://gov.teams.microsoft.us/l/meetup-join/19%3AMEETING_x-1%40thread.v2/0",
            "19:MEETING_x-1@thread.v2",
        ),
        ("https://teams.microsoft.com/meet/12345678901234?p=abcdef", None),
        ("https://teams.microsoft.com/l/meetup-join/not-a-thread/0", None),
        (None, None),
    ],
)
def test_thread_id_from_join_url(join_url: str | None, thread: str | None) -> None:
    assert thread_id_from_join_url(join_url) == thread


def test_odata_string_doubles_quotes() -> None:
    assert odata_string("o'neil@x.org") == "'o''neil@x.org'"


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.UTC)
    assert retry_after_seconds({"Retry-After": "12"}) == 12.0
    assert retry_after_seconds(httpx.Headers({"retry-after": "1.5"})) == 1.5
    assert retry_after_seconds({"Retry-After": "Mon, 16 Nov 2026 10:00:30 GMT"}, now) == 30.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (429, True),
        (503, True),
        (504, True),
        (500, True),
        (502, True),
        (400, False),
        (403, False),
        (404, False),
        (409, False),
    ],
)
def test_status_mapping(status: int, retryable: bool) -> None:
    error = from_status(status, "m", headers={"Retry-After": "4"})
    assert error.retryable is retryable
    assert error.retry_after == (4.0 if retryable else None)
