"""Choosing the Microsoft 365 adapters from configuration: Graph when a tenant is
configured, the outbox folder otherwise. The settings are documented in docs/graph.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from graph.client import GRAPH_BASE_URL, close_graph_client, make_credential, make_graph_client
from graph.msgraph_adapters import GraphCalendar, GraphChatApp, GraphDirectory, GraphMailbox
from graph.outbox_files import FileCalendar, FileChatApp, FileDirectory, FileMailbox
from pep_model.m365 import CalendarPort, ChatAppPort, DirectoryPort, MailboxPort

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class M365Settings:
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    certificate_path: str = ""
    managed_identity: bool = False
    base_url: str = GRAPH_BASE_URL
    mail_sender: str = ""
    teams_app_id: str = ""
    outbox_dir: Path = Path("outbox")

    @property
    def uses_graph(self) -> bool:
        return bool(self.tenant_id) or self.managed_identity

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> M365Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str = "") -> str:
            return env.get(name, default).strip()

        return cls(
            tenant_id=get("PEP_GRAPH_TENANT_ID"),
            client_id=get("PEP_GRAPH_CLIENT_ID"),
            client_secret=get("PEP_GRAPH_CLIENT_SECRET"),
            certificate_path=get("PEP_GRAPH_CERTIFICATE_PATH"),
            managed_identity=get("PEP_GRAPH_MANAGED_IDENTITY").lower() in _TRUE,
            base_url=get("PEP_GRAPH_BASE_URL") or GRAPH_BASE_URL,
            mail_sender=get("PEP_MAIL_SENDER"),
            teams_app_id=get("PEP_TEAMS_APP_ID"),
            outbox_dir=Path(get("PEP_OUTBOX_DIR") or "outbox"),
        )


@dataclass(frozen=True)
class M365:
    calendar: CalendarPort
    mailbox: MailboxPort
    directory: DirectoryPort
    chat_app: ChatAppPort
    mail_sender: str
    online: bool  # False: the outbox folder


@asynccontextmanager
async def open_m365(settings: M365Settings) -> AsyncIterator[M365]:
    """The adapters for these settings, open for the life of the block."""
    if not settings.uses_graph:
        folder = settings.outbox_dir
        log.info("Microsoft 365: no tenant configured, writing to the outbox folder %s", folder)
        yield M365(
            FileCalendar(folder),
            FileMailbox(folder),
            FileDirectory(),
            FileChatApp(folder),
            settings.mail_sender,
            online=False,
        )
        return
    if not settings.mail_sender:
        raise ValueError("PEP_MAIL_SENDER is required with Graph: the mailbox mail is sent from")
    credential = make_credential(
        settings.tenant_id,
        settings.client_id,
        client_secret=settings.client_secret or None,
        certificate_path=settings.certificate_path or None,
        managed_identity=settings.managed_identity,
    )
    try:
        client = make_graph_client(credential, settings.base_url)
        try:
            log.info("Microsoft 365: Graph at %s", settings.base_url)
            yield M365(
                GraphCalendar(client),
                GraphMailbox(client),
                GraphDirectory(client),
                GraphChatApp(client, settings.teams_app_id),
                settings.mail_sender,
                online=True,
            )
        finally:
            await close_graph_client(client)
    finally:
        await credential.close()
