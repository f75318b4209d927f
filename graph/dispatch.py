"""The outbox dispatcher: delivers queued messages through the Microsoft 365 ports.

One pass claims a batch (a lease in the outbox row, so several dispatchers — threads,
processes, machines — never hold the same message), delivers the batch concurrently,
and records each outcome:

* delivered: the row is marked delivered and its after-delivery hook runs in the same
  commit (the created event's join URL goes into the PEP);
* retryable (429, 503, 504, other 5xx, no answer): tried again after a backoff, or after
  the Retry-After the service asked for, whichever is longer; a 429 also pauses this
  dispatcher for Retry-After; after max_attempts the message fails;
* refused (4xx): failed at once, and reported to a person — the one who caused it in
  Teams, and the report mailbox by mail — naming ids and the service's words only.

Each outcome is committed on its own as soon as it is known (never a batch at once), so
a dispatcher killed mid-batch leaves only the messages then in flight unrecorded.
Every message carries its idempotency key to the adapter (Graph's transactionId on
events, the outbox folder's file names, a mail's x-pep-idempotency-key header), so a
message delivered twice — a dispatcher killed after Microsoft 365 took it but before
the commit — has one effect. Graph's sendMail has no such key: before a retry of a mail
(attempt 2 or later) the dispatcher looks for its header in the sender's Sent Items
(`SentItems.already_sent`) and records it as delivered when it is there. See
docs/m365.md.

Logs carry keys, kinds, ids and statuses; never a payload.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from pep_model.m365 import (
    CalendarPort,
    ChatAppPort,
    DeliveryError,
    MailboxPort,
    MailMessage,
    ScheduledMeeting,
)
from pep_model.outbox import (
    AfterDelivery,
    Json,
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    TeamsNoticePort,
    failure_reports,
    invite_from,
    invitee_from,
    mail_from,
)
from pep_model.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

ProgressFn = Callable[["DispatchReport"], None]


@runtime_checkable
class SentItems(Protocol):
    """A mailbox that can tell whether a message with this idempotency key was already
    sent (Graph: the sender's Sent Items). Consulted before every retry of a mail."""

    async def already_sent(self, message: MailMessage, since: datetime) -> bool: ...


class _Wait:
    """The outcome of a message that follows one still pending: look again shortly."""


WAIT = _Wait()
Outcome = Json | DeliveryError | _Wait


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1: base·2^(n-1), capped, with ±jitter; at least the
    service's Retry-After."""

    base_seconds: float = 2.0
    cap_seconds: float = 900.0
    jitter: float = 0.2
    max_attempts: int = 10

    def delay(
        self, attempts: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        exponential: float = min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        spread = (rng or random.Random()).uniform(1 - self.jitter, 1 + self.jitter)
        return max(exponential * spread, retry_after or 0.0)


@dataclass
class DispatchReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    lost_lease: int = 0  # someone else finished it after our lease ran out
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # key, status, why
    next_due: datetime | None = None  # drain(): when the next pending message falls due

    def add(self, other: DispatchReport) -> None:
        self.delivered += other.delivered
        self.retried += other.retried
        self.failed += other.failed
        self.lost_lease += other.lost_lease
        self.failures += other.failures

    @property
    def handled(self) -> int:
        return self.delivered + self.retried + self.failed + self.lost_lease


def dispatcher_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        calendar: CalendarPort,
        mailbox: MailboxPort,
        chat_app: ChatAppPort,
        notices: TeamsNoticePort | None = None,
        hooks: Mapping[OutboxKind, AfterDelivery] | None = None,
        report_mailbox: str = "",
        sender: str = "",
        owner: str | None = None,
        lease_seconds: float = 120.0,
        batch_size: int = 20,
        concurrency: int = 4,
        backoff: Backoff | None = None,
        max_pause_seconds: float = 300.0,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.calendar = calendar
        self.mailbox = mailbox
        self.chat_app = chat_app
        self.notices = notices
        self.hooks: dict[OutboxKind, AfterDelivery] = dict(hooks or {})
        self.report_mailbox = report_mailbox
        self.sender = sender
        self.owner = owner or dispatcher_id()
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.backoff = backoff or Backoff()
        self.max_pause = max_pause_seconds
        self._rng = random.Random()
        self._paused_until = 0.0  # time.monotonic(): Retry-After of a 429
        self._wake = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()

    # ---- one pass ---------------------------------------------------------------------

    async def dispatch_once(self, keys: Sequence[str] | None = None) -> DispatchReport:
        """Claim what is due now (of `keys`, when given), deliver it concurrently, and
        record each outcome in its own commit as soon as it is known."""
        report = DispatchReport()
        async with self.uow() as uow:
            batch = await uow.outbox.claim(
                self.owner, self.clock.now(), self.lease_seconds, self.batch_size, keys
            )
            await uow.commit()
        if not batch:
            return report
        gate = asyncio.Semaphore(self.concurrency)

        async def one(entry: OutboxEntry) -> None:
            # Each outcome is committed as soon as it is known: a dispatcher killed
            # mid-batch leaves at most the messages in flight unrecorded, never the
            # ones it already delivered.
            async with gate:
                outcome = await self._attempt(entry)
                await self._record_alone(entry, outcome, report)

        # a message that follows another of this batch goes once that one is recorded
        keys_here = {e.key for e in batch}
        first = [e for e in batch if e.payload.get("after") not in keys_here]
        then = [e for e in batch if e.payload.get("after") in keys_here]
        for part in (first, then):
            if part:
                await asyncio.gather(*(one(e) for e in part))
        return report

    async def _attempt(self, entry: OutboxEntry) -> Outcome:
        """Deliver one message: its result, the error, or WAIT (it follows a message
        that is still pending)."""
        after = entry.payload.get("after")
        if after:
            async with self.uow() as uow:
                first = await uow.outbox.get(str(after))
            if first is not None and first.status is OutboxStatus.PENDING:
                return WAIT
            if first is None or first.status is not OutboxStatus.DELIVERED:
                return {
                    "posted": False,
                    "reason": (f"{after} was {first.status.value if first else 'not queued'}"),
                }
        try:
            return await self._deliver(entry)
        except DeliveryError as error:
            return error
        except Exception as error:  # an adapter bug: retried, then failed, never lost
            log.exception(
                "outbox %s %s: unexpected %s", entry.kind, entry.key, type(error).__name__
            )
            return DeliveryError(
                f"internal error ({type(error).__name__})", status=0, retryable=True
            )

    async def _deliver(self, entry: OutboxEntry) -> Json:
        p = entry.payload
        kind = entry.kind
        if kind is OutboxKind.MEETING_CREATE:
            return _meeting(await self.calendar.create_meeting(invite_from(entry.key, p["invite"])))
        if kind is OutboxKind.MEETING_UPDATE:
            event_id = await self._event_of(p)
            return _meeting(
                await self.calendar.update_meeting(event_id, invite_from(entry.key, p["invite"]))
            )
        if kind is OutboxKind.MEETING_CANCEL:
            event_id = await self._event_of(p)
            await self.calendar.cancel_meeting(
                event_id, str(p["organiser_email"]), str(p.get("comment") or "")
            )
            return {"event_id": event_id}
        if kind is OutboxKind.MEETING_ADD_ATTENDEE:
            event_id = await self._event_of(p)
            await self.calendar.add_attendee(
                event_id, str(p["organiser_email"]), invitee_from(p["invitee"])
            )
            return {"event_id": event_id}
        if kind is OutboxKind.CHAT_INSTALL:
            await self.chat_app.install_app(str(p["chat_id"]))
            return {"chat_id": p["chat_id"]}
        if kind is OutboxKind.MAIL:
            message = mail_from(entry)
            recipients = len(p.get("to") or []) + len(p.get("cc") or [])
            # A retry may follow an attempt whose outcome was never recorded (killed
            # after the mail service took it): look for it among what was sent first.
            if entry.attempts > 1 and await self._already_sent(entry, message):
                log.info("outbox mail %s: found in Sent Items, not sent again", entry.key)
                return {"recipients": recipients, "found_in_sent_items": True}
            await self.mailbox.send(message)
            return {"recipients": recipients}
        if kind is OutboxKind.TEAMS_NOTICE:
            if self.notices is None:
                return {"posted": False, "reason": "Teams is not connected here"}
            return dict(
                await self.notices.post(
                    str(p["target"]), str(p["template"]), p.get("data") or {}, entry.key
                )
            )
        raise DeliveryError(f"unknown message kind {kind}", status=400, retryable=False)

    async def _already_sent(self, entry: OutboxEntry, message: MailMessage) -> bool:
        """Sent Items, when the mailbox can look. A lookup the service refuses (no
        Mail.Read on that mailbox) must not stop the mail: it is sent, and logged."""
        if not isinstance(self.mailbox, SentItems):
            return False
        try:
            return await self.mailbox.already_sent(message, entry.created_at)
        except DeliveryError as error:
            if error.retryable:
                raise
            log.warning(
                "outbox mail %s: cannot look in Sent Items (%s %s); sending",
                entry.key,
                error.status,
                error.code or "",
            )
            return False

    async def _event_of(self, payload: Mapping[str, Any]) -> str:
        """The event a change applies to: the one its meeting's create produced."""
        async with self.uow() as uow:
            created = await uow.outbox.get(str(payload["event_of"]))
        if (
            created is None
            or created.status is not OutboxStatus.DELIVERED
            or not (created.result or {}).get("event_id")
        ):
            raise DeliveryError(
                "the meeting this change belongs to was never created",
                status=409,
                retryable=False,
                code="NoEvent",
            )
        return str((created.result or {})["event_id"])

    async def _record_alone(
        self, entry: OutboxEntry, outcome: Outcome, report: DispatchReport
    ) -> None:
        hook = self.hooks.get(entry.kind)
        try:
            async with self.uow() as uow:
                await self._record_one(uow, entry, outcome, report)
                await uow.commit()
        except Exception as error:
            if hook is None or not isinstance(outcome, dict):
                raise
            # What was sent stays sent: record it without the follow-up, and say so.
            log.exception(
                "outbox %s %s: after-delivery step failed (%s); recorded as delivered without it",
                entry.kind,
                entry.key,
                type(error).__name__,
            )
            async with self.uow() as uow:
                await self._record_one(uow, entry, outcome, report, run_hook=False)
                await uow.commit()

    async def _record_one(
        self,
        uow: UnitOfWork,
        entry: OutboxEntry,
        outcome: Outcome,
        report: DispatchReport,
        *,
        run_hook: bool = True,
    ) -> None:
        now = self.clock.now()
        if isinstance(outcome, _Wait):
            if await uow.outbox.retry_later(
                entry.id,
                self.owner,
                now,
                now + timedelta(seconds=self.backoff.base_seconds),
                0,
                f"waiting for {entry.payload.get('after')}",
            ):
                report.retried += 1
            else:
                report.lost_lease += 1
            return
        if isinstance(outcome, DeliveryError):
            await self._refused_or_retry(uow, entry, outcome, report)
            return
        if not await uow.outbox.delivered(entry.id, self.owner, now, outcome):
            report.lost_lease += 1
            log.warning(
                "outbox %s %s: delivered, but the lease had passed to another dispatcher",
                entry.kind,
                entry.key,
            )
            return
        hook = self.hooks.get(entry.kind)
        if hook is not None and run_hook:
            await hook(uow, entry, outcome)
        report.delivered += 1
        log.info("outbox %s delivered: key=%s attempt=%d", entry.kind, entry.key, entry.attempts)

    async def _refused_or_retry(
        self, uow: UnitOfWork, entry: OutboxEntry, error: DeliveryError, report: DispatchReport
    ) -> None:
        now = self.clock.now()
        why = error.message[:300]
        if error.status == 429 and error.retry_after:
            pause = min(error.retry_after, self.max_pause)
            self._paused_until = max(self._paused_until, time.monotonic() + pause)
        if error.retryable and entry.attempts < self.backoff.max_attempts:
            delay = self.backoff.delay(entry.attempts, error.retry_after, self._rng)
            if await uow.outbox.retry_later(
                entry.id, self.owner, now, now + timedelta(seconds=delay), error.status, why
            ):
                report.retried += 1
                log.info(
                    "outbox %s %s: %s, retry %d in %.1fs",
                    entry.kind,
                    entry.key,
                    error.status,
                    entry.attempts,
                    delay,
                )
            else:
                report.lost_lease += 1
            return
        if not await uow.outbox.failed(entry.id, self.owner, now, error.status, why):
            report.lost_lease += 1
            return
        for message in failure_reports(
            entry, error.status, why, report_mailbox=self.report_mailbox, sender=self.sender
        ):
            await uow.outbox.add(message, now)
        report.failed += 1
        report.failures.append((entry.key, error.status, why))
        log.warning(
            "outbox %s %s: failed after %d attempt(s): %s",
            entry.kind,
            entry.key,
            entry.attempts,
            error,
        )

    # ---- until nothing is due ------------------------------------------------------

    async def _pause(self) -> None:
        wait = self._paused_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def drain(
        self,
        *,
        keys: Sequence[str] | None = None,
        wait_seconds: float = 0.0,
        poll_seconds: float = 1.0,
        progress: ProgressFn | None = None,
    ) -> DispatchReport:
        """Deliver until nothing is left that is due within `wait_seconds` (0: only
        what is due now). Retries due inside the window are waited for."""
        report = DispatchReport()
        deadline = time.monotonic() + wait_seconds
        while True:
            await self._pause()
            step = await self.dispatch_once(keys)
            report.add(step)
            if step.handled:
                if progress is not None:
                    progress(report)
                continue
            async with self.uow() as uow:
                next_due = report.next_due = await uow.outbox.next_due()
                if keys is not None:
                    entries = [await uow.outbox.get(k) for k in keys]
                    if all(e is None or e.status is not OutboxStatus.PENDING for e in entries):
                        return report
            if next_due is None:
                return report
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return report
            until_due = (next_due - self.clock.now()).total_seconds()
            await asyncio.sleep(min(max(until_due, 0.01), poll_seconds, remaining))

    async def deliver_now(self, keys: Sequence[str], timeout: float) -> dict[str, OutboxStatus]:
        """Deliver these messages now, waiting at most `timeout` seconds for them. The
        delivery carries on in the background after the wait (never cut off mid-call)."""
        task = asyncio.create_task(
            self.drain(keys=list(keys), wait_seconds=timeout, poll_seconds=0.1)
        )
        self._background.add(task)
        task.add_done_callback(self._finished)
        await asyncio.wait({task}, timeout=timeout)
        statuses: dict[str, OutboxStatus] = {}
        async with self.uow() as uow:
            for key in keys:
                entry = await uow.outbox.get(key)
                if entry is not None:
                    statuses[key] = entry.status
        return statuses

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "outbox delivery in the background failed: %s", type(task.exception()).__name__
            )

    def wake(self) -> None:
        """Something was queued: deliver now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, idle_seconds: float = 5.0) -> None:
        """Deliver continuously until `stop` is set (inside `pep-companion serve`)."""
        log.info("outbox dispatcher %s started", self.owner)
        while not stop.is_set():
            try:
                next_due = (await self.drain()).next_due
            except Exception as error:  # the database went away: try again shortly
                log.warning("outbox dispatcher pass failed: %s", type(error).__name__)
                next_due = None
            wait = idle_seconds
            if next_due is not None:
                wait = min(wait, max(0.05, (next_due - self.clock.now()).total_seconds()))
            self._wake.clear()
            stopping = asyncio.create_task(stop.wait())
            woken = asyncio.create_task(self._wake.wait())
            await asyncio.wait({stopping, woken}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for task in (stopping, woken):
                task.cancel()
        await self.idle()
        log.info("outbox dispatcher %s stopped", self.owner)

    async def idle(self) -> None:
        """Wait for background deliveries (deliver_now) to finish."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)


def _meeting(meeting: ScheduledMeeting) -> Json:
    return {
        "event_id": meeting.event_id,
        "join_url": meeting.join_url,
        "chat_id": meeting.chat_id,
        "ical_uid": meeting.ical_uid,
    }
