"""The Microsoft 365 side of a running process, built from settings: the adapters (Graph
or the outbox folder), the use cases that queue mail and calendar changes, the outbox
dispatcher, the Teams notices and the job runner. `serve` and the CLI open one each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.connector import Connector
from bot.jobs_runner import JobRunner, job_handlers
from bot.notices import TeamsNotices
from bot.paperwork import form_data, form_renderer
from bot.reach import unposted_notice_hooks
from bot.settings import Settings
from bot.wiring import Container
from forms.final_record import render_final_record
from graph.dispatch import Backoff, Dispatcher
from graph.wiring import M365, M365Settings, open_m365
from pep_model.errors import NotFound
from pep_model.meetings import DEFAULT_AGENDA, MeetingWording
from pep_model.pep import DOCX, document_name
from pep_model.ports import StoredDocument
from pep_model.returns import FINAL_RECORD, ReturnService
from pep_model.scheduling import SchedulingService
from pep_model.term_start import TermStart
from pep_model.workflow import PepStatus

log = logging.getLogger(__name__)

OFFLINE_SENDER = "business-support@pep-companion.invalid"
_RECORD_STILL_OPEN = frozenset(
    {PepStatus.IN_MEETING, PepStatus.AWAITING_RETURN, PepStatus.AMENDMENTS_REQUESTED}
)


def m365_settings(settings: Settings) -> M365Settings:
    return M365Settings(
        tenant_id=settings.graph_tenant_id,
        client_id=settings.graph_client_id,
        client_secret=settings.graph_client_secret,
        certificate_path=settings.graph_certificate_path,
        managed_identity=settings.graph_managed_identity,
        base_url=settings.graph_base_url,
        mail_sender=settings.mail_sender,
        teams_app_id=settings.teams_app_id,
        outbox_dir=settings.outbox_dir,
    )


def meeting_wording(settings: Settings) -> MeetingWording:
    return MeetingWording(
        subject=settings.meeting_subject,
        agenda=tuple(settings.meeting_agenda) or DEFAULT_AGENDA,
        authority_name=settings.authority_name,
    )


@dataclass
class M365Runtime:
    container: Container
    m365: M365
    sender: str
    scheduling: SchedulingService
    returns: ReturnService
    term_start: TermStart
    dispatcher: Dispatcher
    notices: TeamsNotices | None
    jobs: JobRunner
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def final_record(self, pep_id: str) -> tuple[str, bytes]:
        """The final PEP from the meeting, as a Word file (stored beside the PEP)."""
        c = self.container
        async with c.uow() as uow:
            pep = await uow.peps.get(pep_id)
            if pep is None:
                raise NotFound(f"There is no PEP {pep_id}.")
            data = await form_data(uow, c.service, pep, c.settings.authority_name)
            content = render_final_record(data)
            name = document_name(pep.child_id, pep.term_id)
            if pep.status in _RECORD_STILL_OPEN:  # once returned, the stored record is
                # the version Business Support was sent (pep_model/returns.py)
                await uow.documents.put(
                    StoredDocument(pep.child_id, pep.term_id, FINAL_RECORD, name, DOCX, content)
                )
                await uow.commit()
        return name, content

    def start_background(self) -> None:
        """The dispatcher and the job runner, as tasks of this event loop."""
        stop = self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(stop), name="outbox"),
            asyncio.create_task(self.jobs.run_forever(stop), name="jobs"),
        ]

    async def stop_background(self) -> None:
        if not self._tasks:
            return
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


@asynccontextmanager
async def open_runtime(
    container: Container, connector: Connector | None = None, *, background: bool = False
) -> AsyncIterator[M365Runtime]:
    """Everything Microsoft 365 for this process. connector: the Bot Connector client for
    Teams notices (None: notices are recorded as not posted). background: run the
    dispatcher and the job runner until the block ends (inside `serve`)."""
    settings = container.settings
    async with open_m365(m365_settings(settings)) as m365:
        sender = m365.mail_sender or OFFLINE_SENDER
        service = container.service
        scheduling = SchedulingService(service, meeting_wording(settings))
        # returned PEPs: the configured mailbox, else the staff file's Business Support
        # (pep_model.returns.business_support_mailboxes), never the placeholder sender
        returns = ReturnService(
            service,
            sender=sender,
            business_support=settings.business_support_email or m365.mail_sender,
            authority_name=settings.authority_name,
        )
        notices = TeamsNotices(container, connector, scheduling) if connector else None
        dispatcher = Dispatcher(
            container.uow,
            container.clock,
            calendar=m365.calendar,
            mailbox=m365.mailbox,
            chat_app=m365.chat_app,
            notices=notices,
            hooks={**scheduling.hooks(), **unposted_notice_hooks(container, sender)},
            report_mailbox=settings.failure_report_email
            or settings.business_support_email
            or sender,
            sender=sender,
            lease_seconds=settings.outbox_lease_seconds,
            batch_size=settings.outbox_batch_size,
            concurrency=settings.outbox_concurrency,
            backoff=Backoff(max_attempts=settings.outbox_max_attempts),
        )
        term_start = TermStart(
            service,
            form_renderer(service, settings.authority_name),
            sender=sender,
            authority_name=settings.authority_name,
        )
        runtime = M365Runtime(
            container,
            m365,
            sender,
            scheduling,
            returns,
            term_start,
            dispatcher,
            notices,
            JobRunner(container.uow, container.clock),
        )
        runtime.jobs.handlers = job_handlers(runtime)
        if background:
            runtime.start_background()
        try:
            yield runtime
        finally:
            await runtime.stop_background()
            await dispatcher.idle()
