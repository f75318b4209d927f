"""pep-companion commands for the end of term: the PP+ payment schedule and the overview.

    pep-companion pupil-premium schedule --term 2026-autumn [--out DIR] [--preview]
    pep-companion report --term 2026-autumn [--out FILE]

bot/cli.py calls `add_commands(subparsers)`. Exit status: 0 done, 1 refused (the message
says why), 2 a wrong term.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, prepared_container

if TYPE_CHECKING:
    from bot.after_meeting import AfterMeeting
    from bot.settings import Settings


async def _services(settings: Settings) -> tuple[Any, AfterMeeting]:
    from bot.after_meeting import after_meeting_services

    container = await prepared_container(settings)
    return container, after_meeting_services(container)


async def cmd_pp_schedule(settings: Settings, args: argparse.Namespace) -> int:
    from pep_model.access import SYSTEM
    from pep_model.errors import NotFound
    from pep_model.money import format_pence
    from pep_model.pupil_premium_service import ScheduleRefused, schedule_csv_name

    container, services = await _services(settings)
    pp = services.pupil_premium
    try:
        if args.preview:
            view = await pp.schedule(args.term, SYSTEM)
            schedule, frozen = view.schedule, view.frozen
            state = (
                f"frozen {frozen.frozen_at:%d/%m/%Y %H:%M} UTC"
                if frozen
                else "not exported yet (preview: nothing written, nothing frozen)"
            )
        else:
            export = await pp.export(args.term, SYSTEM)
            schedule, frozen = export.schedule, export.frozen
            out: Path = args.out or settings.reports_dir / export.term.id
            out.mkdir(parents=True, exist_ok=True)
            csv_path = out / schedule_csv_name(export.term.id)
            doc_path = out / frozen.document_name
            csv_path.write_bytes(frozen.csv.encode("utf-8"))
            doc_path.write_bytes(frozen.document)
            state = (
                f"exported and frozen now ({export.carried} approvals passed to the next term)"
                if export.newly_frozen
                else f"already frozen {frozen.frozen_at:%d/%m/%Y %H:%M} UTC: the same files"
            )
    except NotFound as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except ScheduleRefused as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        await container.close()
    children = len({(line.school_urn, line.child_id) for line in schedule.lines})
    print(f"PP+ payment schedule {args.term}: {state}")
    print(
        f"  {len(schedule.schools)} schools, {children} children, "
        f"{sum(s.requests for s in schedule.schools)} requests, "
        f"total {format_pence(schedule.total_pence)}"
    )
    print(
        f"  held (PEP not finalised): {len(schedule.held)} children, "
        f"{format_pence(schedule.held_pence)}"
    )
    if not args.preview:
        print(f"  wrote {csv_path} and {doc_path}")
    return EXIT_OK


async def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from pep_model.errors import NotFound

    container, services = await _services(settings)
    try:
        text = await services.overview.report_csv(args.term)
    except NotFound as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    finally:
        await container.close()
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(text.encode("utf-8"))
        print(f"wrote {args.out}", file=sys.stderr)
    return EXIT_OK


def add_commands(subparsers: Any) -> None:
    """Register `pupil-premium schedule` and `report` on pep-companion's subparsers."""
    pp = subparsers.add_parser("pupil-premium", help="Pupil Premium Plus.").add_subparsers(
        dest="pp_command", required=True, metavar="PP_COMMAND"
    )
    text = (
        "The term's PP+ payment schedule: a CSV for finance and a Word document, per "
        "school and child (LCS id). The first export freezes it: exporting again "
        "writes the same files; later approvals go to next term's schedule."
    )
    sp = pp.add_parser("schedule", help=text, description=text)
    sp.set_defaults(func=cmd_pp_schedule)
    sp.add_argument("--term", required=True, help="term id, e.g. 2026-autumn")
    sp.add_argument(
        "--out", type=Path, help="folder for the two files (default PEP_REPORTS_DIR/<term>)"
    )
    sp.add_argument(
        "--preview",
        action="store_true",
        help="print the totals as they stand; write nothing, freeze nothing",
    )
    text = (
        "The Virtual School's overview of a term as CSV: PEPs by status, no meeting "
        "scheduled, overdue returns, QA, grades, PP+, transition cases."
    )
    sp = subparsers.add_parser("report", help=text, description=text)
    sp.set_defaults(func=cmd_report)
    sp.add_argument("--term", required=True, help="term id, e.g. 2026-autumn")
    sp.add_argument("--out", type=Path, help="CSV file (default: standard output)")
