"""Where the bot may download a file a user sent it from (PEP_DOWNLOAD_HOSTS).

Teams gives a pre-authorised `downloadUrl` for a file sent to a bot; a file sent in
chat lives in the sender's OneDrive for Business or the team's SharePoint site, both
served from `<tenant>.sharepoint.com` / `<tenant>-my.sharepoint.com`. Anything else in
that field was not put there by Teams, so the bot does not fetch it (server-side
request forgery). Entries are `host` or `host:port`; `*.example.com` matches any name
ending in `.example.com` (not `example.com` itself). A bare host means the default
https port only. Plain http is allowed only for a listed loopback host (the test stubs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_DOWNLOAD_HOSTS = ("*.sharepoint.com",)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class HostNotAllowed(Exception):
    """A download address (or a redirect) outside PEP_DOWNLOAD_HOSTS."""


@dataclass(frozen=True)
class _Entry:
    host: str  # lower case; "*.x.y" for a wildcard
    port: int | None  # None: the scheme's default port

    def matches(self, host: str, port: int, default_port: int) -> bool:
        if (self.port or default_port) != port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


class DownloadHosts:
    def __init__(self, entries: Iterable[str]) -> None:
        self.entries = tuple(_parse(e) for e in entries if e.strip())

    def check(self, url: str) -> str:
        """The URL, if the bot may fetch it; else HostNotAllowed."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower().rstrip(".")
            port = parts.port
        except ValueError as exc:  # a port that is not a number, a broken IPv6 host
            raise HostNotAllowed("not an address") from exc
        if parts.username or parts.password:
            raise HostNotAllowed("an address with a user name")
        if parts.scheme == "https":
            default = 443
        elif parts.scheme == "http" and host in LOOPBACK:
            default = 80
        else:
            raise HostNotAllowed(f"scheme {parts.scheme!r}")
        port = default if port is None else port
        if not any(e.matches(host, port, default) for e in self.entries):
            raise HostNotAllowed(f"host {host!r} port {port}")
        return url


def _parse(entry: str) -> _Entry:
    text = entry.strip().lower()
    host, sep, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    if not sep:
        host = text
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or ("*" in host and not (host.startswith("*.") and "*" not in host[2:])):
        raise ValueError(f"PEP_DOWNLOAD_HOSTS: {entry!r} is not a host, host:port or *.domain")
    if sep and not port.isdigit():
        raise ValueError(f"PEP_DOWNLOAD_HOSTS: the port in {entry!r} is not a number")
    return _Entry(host, int(port) if sep else None)
