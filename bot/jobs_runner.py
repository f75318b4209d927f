"""One job runner for everything timed (pep_model/jobs.py lists the jobs): inside
`pep-companion serve` it wakes every half minute; `pep-companion jobs run-due` runs
what is due once, for cron. A job is claimed with a lease in the jobs table (one
conditional UPDATE), so with several instances each due run happens once; a run that
dies leaves its lease to expire and the job is taken again after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.dispatch import dispatcher_id
from pep_model.jobs import (
    INBOX_IMPORT,
    JOBS,
    NEXT_DATE_NAGS,
    OUTBOX_SWEEP,
    OVERDUE_RETURNS,
    RETURN_REMINDERS,
    TERM_START,
    TRANSITION_ALERTS,
    WEEKLY_DIGEST,
    JobSpec,
)
from pep_model.outbox import notice, person_target
from pep_model.people import Role
from pep_model.ports import Clock
from pep_model.returns import queue_next_date_nags
from pep_model.virtual_school_cases import alert_unscheduled
from store.unit_of_work import SqlUnitOfWorkFactory

if TYPE_CHECKING:
    from bot.m365_runtime import M365Runtime

log = logging.getLogger(__name__)

Handler = Callable[[], Awaitable[str]]
RETRY_AFTER_FAILURE = timedelta(minutes=5)


class JobRunner:
    def __init__(
        self,
        uow: SqlUnitOfWorkFactory,
        clock: Clock,
        handlers: Mapping[str, Handler] | None = None,
        specs: Sequence[JobSpec] = JOBS,
        owner: str | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.specs = {s.name: s for s in specs}
        self.owner = owner or dispatcher_id()

    async def ensure(self) -> None:
        """A row per job, first due at its next time after now (never in the past, so a
        new installation sends nothing until a job's time comes)."""
        now = self.clock.now()
        async with self.uow() as uow:
            for spec in self.specs.values():
                await uow.jobs.ensure(spec.name, spec.next_run(now))
            await uow.commit()

    async def run_due(
        self, only: Sequence[str] | None = None, force: bool = False
    ) -> list[tuple[str, str]]:
        """Run every job that is due (or `only` these; `force`: even if not due).
        Returns (job, outcome) for each run this instance made."""
        await self.ensure()
        now = self.clock.now()
        if force:
            names = list(only or self.specs)
        else:
            async with self.uow() as uow:
                names = await uow.jobs.due(now)
            if only is not None:
                names = [n for n in names if n in only]
        ran = []
        for name in names:
            spec = self.specs.get(name)
            handler = self.handlers.get(name)
            if spec is None or handler is None:
                continue
            outcome = await self._run(spec, handler, force)
            if outcome is not None:
                ran.append((name, outcome))
        return ran

    async def _run(self, spec: JobSpec, handler: Handler, force: bool) -> str | None:
        now = self.clock.now()
        async with self.uow() as uow:
            if force:  # make it due now, then claim it like any other run
                await uow.jobs.make_due(spec.name, now)
            claimed = await uow.jobs.claim(spec.name, self.owner, now, now + spec.lease)
            await uow.commit()
        if not claimed:
            return None
        log.info("job %s started", spec.name)
        try:
            outcome = await handler()
            next_run = spec.next_run(self.clock.now())
        except Exception as error:
            log.exception("job %s failed", spec.name)
            outcome = f"failed: {type(error).__name__}"
            next_run = min(spec.next_run(self.clock.now()), self.clock.now() + RETRY_AFTER_FAILURE)
        async with self.uow() as uow:
            await uow.jobs.finish(spec.name, self.owner, self.clock.now(), next_run, outcome)
            await uow.commit()
        log.info("job %s: %s", spec.name, outcome)
        return outcome

    async def run_forever(self, stop: asyncio.Event, poll_seconds: float = 30.0) -> None:
        while not stop.is_set():
            try:
                await self.run_due()
            except Exception as error:  # the database went away: try again next time
                log.warning("job runner pass failed: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)

    async def status(self) -> list[dict[str, Any]]:
        async with self.uow() as uow:
            return await uow.jobs.all()


def job_handlers(runtime: M365Runtime) -> dict[str, Handler]:
    """What each job does, on this runtime."""
    container = runtime.container

    async def term_start() -> str:
        term = runtime.term_start.due_term()
        if term is None:
            return "not in the first school days of a term"
        report = await runtime.term_start.run(term.id)
        runtime.dispatcher.wake()
        return (
            f"{term.id}: {len(report.queued)} packs queued, "
            f"{len(report.already_queued)} already queued, "
            f"{len(report.not_sent)} not sent"
        )

    async def transition_alerts() -> str:
        added = await alert_unscheduled(runtime.scheduling.service)
        runtime.dispatcher.wake()
        return f"{added} alerts queued"

    async def return_reminders() -> str:
        added = await runtime.returns.queue_reminders()
        runtime.dispatcher.wake()
        return f"{added} reminders queued"

    async def overdue_returns() -> str:
        late = await runtime.returns.queue_overdue_list()
        runtime.dispatcher.wake()
        return f"{late} overdue returns listed"

    async def next_date_nags() -> str:
        added = await queue_next_date_nags(container.service)
        runtime.dispatcher.wake()
        return f"{added} nags queued"

    async def weekly_digest() -> str:
        """A Teams notice per Virtual School Head, through the outbox (one per week)."""
        now = container.clock.now()
        year, week, _ = now.isocalendar()
        async with container.uow() as uow:
            heads = await uow.staff.authority_wide(Role.VIRTUAL_SCHOOL_HEAD)
            for head in heads:
                await uow.outbox.add(
                    notice(
                        f"weekly-digest:{year}-W{week:02d}:{head.id}",
                        person_target(head.id),
                        "weekly_digest",
                        {},
                    ),
                    now,
                )
            await uow.commit()
        runtime.dispatcher.wake()
        return f"digest queued for {len(heads)} Virtual School Head(s)"

    async def outbox_sweep() -> str:
        report = await runtime.dispatcher.drain()
        return f"{report.delivered} delivered, {report.retried} to retry, {report.failed} failed"

    async def inbox_import() -> str:
        from bot.inbox import import_inbox

        folder = container.settings.inbox_dir
        if not folder:
            return "off (PEP_INBOX_DIR is not set)"
        report = await import_inbox(container, Path(folder), sender=runtime.sender)
        runtime.dispatcher.wake()
        return report.summary()

    return {
        TERM_START: term_start,
        TRANSITION_ALERTS: transition_alerts,
        RETURN_REMINDERS: return_reminders,
        OVERDUE_RETURNS: overdue_returns,
        NEXT_DATE_NAGS: next_date_nags,
        OUTBOX_SWEEP: outbox_sweep,
        WEEKLY_DIGEST: weekly_digest,
        INBOX_IMPORT: inbox_import,
    }
