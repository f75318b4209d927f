"""PEP_DOWNLOAD_HOSTS: which download addresses the bot may fetch."""

from __future__ import annotations

import aiohttp
import pytest

from bot.connector import Connector, ConnectorError, NoToken
from bot.download_hosts import DownloadHosts, HostNotAllowed
from bot.settings import Settings

DEFAULT = DownloadHosts(Settings(_env_file=None).download_hosts)  # type: ignore[call-arg]
ONEDRIVE = (
    "https://contoso-my.sharepoint.com/personal/h_pemberton_contoso_com/_layouts/15/"
    "download.aspx?UniqueId=abc&Translate=false&tempauth=x"
)


@pytest.mark.parametrize(
    "url",
    [
        ONEDRIVE,
        "https://contoso.sharepoint.com/sites/VirtualSchool/_layouts/15/download.aspx?x=1",
        "https://CONTOSO.SharePoint.com:443/a.docx",
    ],
)
def test_the_default_lets_teams_file_addresses_through(url: str) -> None:
    assert DEFAULT.check(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://contoso.sharepoint.com/a.docx",  # not https
        "https://contoso.sharepoint.com:8443/a.docx",  # another port
        "https://sharepoint.com/a.docx",  # the wildcard needs a label
        "https://contoso.sharepoint.com.evil.example/a.docx",
        "https://evilsharepoint.com/a.docx",
        "https://user@contoso.sharepoint.com/a.docx",  # credentials in the address
        "http://127.0.0.1:8080/a.docx",  # loopback, not listed
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "https://[::1/a.docx",  # broken
    ],
)
def test_the_default_refuses_everything_else(url: str) -> None:
    with pytest.raises(HostNotAllowed):
        DEFAULT.check(url)


def test_a_listed_loopback_port_may_be_plain_http_and_only_that_port() -> None:
    hosts = DownloadHosts(["*.sharepoint.com", "127.0.0.1:8123"])
    assert hosts.check("http://127.0.0.1:8123/files/a.docx")
    for url in (
        "http://127.0.0.1:8124/a.docx",
        "http://127.0.0.1/a.docx",
        "http://files.example:8123/a.docx",
    ):
        with pytest.raises(HostNotAllowed):
            hosts.check(url)


def test_the_setting_is_comma_separated_and_checked_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEP_DOWNLOAD_HOSTS", "*.sharepoint.com, files.example:8443")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.download_hosts == ["*.sharepoint.com", "files.example:8443"]
    assert DownloadHosts(settings.download_hosts).check("https://files.example:8443/a")
    monkeypatch.setenv("PEP_DOWNLOAD_HOSTS", "files.example:https")
    with pytest.raises(ValueError, match=r"the port in 'files\.example:https' is not a number"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("PEP_DOWNLOAD_HOSTS", "files.*.example")
    with pytest.raises(ValueError, match="is not a host, host:port or"):
        Settings(_env_file=None)  # type: ignore[call-arg]


async def test_a_refused_host_and_a_closed_listed_port_fail_alike() -> None:
    """No port oracle: the caller gets the same error for both (and says the same)."""
    connector = Connector(aiohttp.ClientSession(), NoToken(), DownloadHosts(["127.0.0.1:9"]))
    failures = []
    try:
        for url in (
            "http://127.0.0.1:9/form.docx",  # listed, nothing listening
            "http://127.0.0.1:8/form.docx",  # not listed: never asked
            "https://example.org/form.docx",
        ):
            with pytest.raises(ConnectorError) as failed:
                await connector.download(url, 1024)
            failures.append(failed.value)
    finally:
        await connector.session.close()
    assert {type(f) for f in failures} == {ConnectorError}
    assert {str(f).split(": ", 1)[1] for f in failures} == {"download failed"}
