"""The command line for Microsoft 365 work (bot/cli.py calls add_commands):

    pep-companion term-start --term 2027-spring   queue and send the term-start packs
    pep-companion jobs run-due [--job NAME] [--force]   run the jobs that are due (cron)
    pep-companion jobs list                        when each job last ran and runs next
    pep-companion outbox dispatch [--wait S]       deliver what is due in the outbox
    pep-companion outbox status                    messages per status, and the failures

Exit status 0 when all went, 1 when something could not be sent (listed on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from bot.cli import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    Bar,
    configure_logging,
    prepared_container,
)

if TYPE_CHECKING:
    from bot.settings import Settings


@asynccontextmanager
async def _runtime(settings: Settings) -> AsyncIterator[Any]:
    """Migrated database, container, Bot Connector session (for Teams notices), M365."""
    import aiohttp

    from bot.connector import Connector
    from bot.m365_runtime import open_runtime
    from bot.server import token_source

    container = await prepared_container(settings)
    try:
        async with aiohttp.ClientSession() as session:
            # Teams notices need the bot's identity (or the local Playground without one)
            connector = (
                Connector(session, token_source(settings))
                if settings.app_id or settings.auth_disabled
                else None
            )
            async with open_runtime(container, connector) as runtime:
                yield runtime
    finally:
        await container.close()


async def cmd_term_start(settings: Settings, args: argparse.Namespace) -> int:
    async with _runtime(settings) as runtime:
        try:
            term = runtime.container.calendar.get(args.term)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
        require_pdf = not args.allow_missing_pdf
        queued = await runtime.term_start.run(
            term.id, progress=Bar(f"packs for {term.id}"), require_previous_pdf=require_pdf
        )
        print(
            f"{term.id}: {len(queued.queued)} packs queued now, "
            f"{len(queued.already_queued)} queued before"
        )
        if not args.no_send:
            total = len(queued.queued) + len(queued.already_queued)
            bar = Bar("sending")
            await runtime.dispatcher.drain(
                wait_seconds=args.wait,
                progress=lambda r: bar(min(r.delivered + r.failed, total), total),
            )
        report = await runtime.term_start.status(term.id, require_previous_pdf=require_pdf)
    print(
        f"sent: {len(report.delivered)}; waiting to be sent: {len(report.pending)}; "
        f"could not be sent: {len(report.failed) + len(report.not_sent)}"
    )
    for child_id, why in report.failed:
        print(f"  {child_id}: refused: {why}", file=sys.stderr)
    for child_id, why in report.not_sent:
        print(f"  {child_id}: not sent: {why}", file=sys.stderr)
    return EXIT_PROBLEMS if report.failed or report.not_sent else EXIT_OK


async def cmd_jobs_run_due(settings: Settings, args: argparse.Namespace) -> int:
    from pep_model.jobs import JOBS

    names = [s.name for s in JOBS]
    if args.job and args.job not in names:
        print(f"no job {args.job!r}; jobs: {', '.join(names)}", file=sys.stderr)
        return EXIT_USAGE
    async with _runtime(settings) as runtime:
        ran = await runtime.jobs.run_due(only=[args.job] if args.job else None, force=args.force)
        await runtime.dispatcher.drain()
    for name, outcome in ran:
        print(f"{name}: {outcome}")
    if not ran:
        print("nothing was due")
    return EXIT_PROBLEMS if any(o.startswith("failed") for _, o in ran) else EXIT_OK


async def cmd_jobs_list(settings: Settings, args: argparse.Namespace) -> int:
    async with _runtime(settings) as runtime:
        await runtime.jobs.ensure()
        rows = await runtime.jobs.status()
    for row in rows:
        print(
            f"{row['name']}: next {row['next_run_at']:%Y-%m-%d %H:%M} UTC, "
            f"runs {row['runs']}, last: {row['last_outcome'] or '-'}"
        )
    return EXIT_OK


async def cmd_outbox_dispatch(settings: Settings, args: argparse.Namespace) -> int:
    async with _runtime(settings) as runtime:
        report = await runtime.dispatcher.drain(wait_seconds=args.wait)
    print(f"delivered {report.delivered}, to retry {report.retried}, failed {report.failed}")
    for key, status, why in report.failures:
        print(f"  {key}: {status} {why}", file=sys.stderr)
    return EXIT_PROBLEMS if report.failed else EXIT_OK


async def cmd_outbox_status(settings: Settings, args: argparse.Namespace) -> int:
    from pep_model.outbox import OutboxStatus

    async with _runtime(settings) as runtime, runtime.container.uow() as uow:
        counts = await uow.outbox.counts()
        failed = await uow.outbox.find(status=OutboxStatus.FAILED, limit=args.limit)
        next_due = await uow.outbox.next_due()
    print(", ".join(f"{status}: {n}" for status, n in counts.items()))
    if next_due is not None:
        print(f"next due: {next_due:%Y-%m-%d %H:%M:%S} UTC")
    for entry in failed:
        print(
            f"  failed {entry.kind} {entry.key}: {entry.last_status} {entry.last_error}",
            file=sys.stderr,
        )
    return EXIT_PROBLEMS if failed else EXIT_OK


def add_commands(subparsers: Any) -> None:
    """Register term-start, jobs and outbox on the pep-companion parser's subparsers."""

    def add(parent: Any, name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(func=func)
        return sp

    sp = add(
        subparsers,
        "term-start",
        cmd_term_start,
        "Send every child's term-start pack (new-term Word PEP + last term's PDF) to "
        "the designated teacher. Safe to run again: nobody is sent a pack twice.",
    )
    sp.add_argument("--term", required=True, help="term id, e.g. 2027-spring")
    sp.add_argument(
        "--allow-missing-pdf",
        action="store_true",
        help="send packs without last term's PDF when there is none",
    )
    sp.add_argument(
        "--no-send", action="store_true", help="only queue the packs; the dispatcher sends them"
    )
    sp.add_argument(
        "--wait",
        type=float,
        default=180.0,
        help="seconds to wait for retries (throttling) before reporting",
    )
    jobs = subparsers.add_parser("jobs", help="The timed jobs.").add_subparsers(
        dest="jobs_command", required=True, metavar="JOBS_COMMAND"
    )
    from pep_model.jobs import JOBS

    sp = add(jobs, "run-due", cmd_jobs_run_due, "Run the jobs that are due (for cron).")
    sp.epilog = "jobs:\n" + "\n".join(f"  {job.name:<26} {job.description}" for job in JOBS)
    sp.formatter_class = argparse.RawDescriptionHelpFormatter
    sp.add_argument("--job", metavar="NAME", help="only this job (one of the names below)")
    sp.add_argument("--force", action="store_true", help="run it even if it is not due")
    add(jobs, "list", cmd_jobs_list, "When each job last ran and runs next.")
    outbox = subparsers.add_parser(
        "outbox", help="The outbox of mail and calendar changes."
    ).add_subparsers(dest="outbox_command", required=True, metavar="OUTBOX_COMMAND")
    sp = add(outbox, "dispatch", cmd_outbox_dispatch, "Deliver what is due in the outbox.")
    sp.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="also wait this many seconds for retries that fall due",
    )
    sp = add(outbox, "status", cmd_outbox_status, "Messages per status, and the failures.")
    sp.add_argument("--limit", type=int, default=50)


def main(argv: list[str] | None = None) -> int:
    """Run these commands on their own: python -m bot.cli_m365 term-start --term …"""
    import asyncio

    parser = argparse.ArgumentParser(prog="pep-companion")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    from bot.cli import Refused, load_settings

    try:
        settings = load_settings()
        configure_logging(settings)
        return int(asyncio.run(args.func(settings, args)))
    except Refused as exc:
        print(f"pep-companion: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
