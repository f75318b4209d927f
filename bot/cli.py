"""pep-companion: the command line for IT teams and scheduled jobs."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.settings import Settings

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class Bar:
    """A progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            width = 30
            filled = width * done // max(total, 1)
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                             f"{done}/{total}")
            if done >= total:
                sys.stderr.write("\n")
        elif done >= total or done // 100 != self._last // 100:
            sys.stderr.write(f"{self.label}: {done}/{total}\n")
        self._last = done
        sys.stderr.flush()


def _container(settings: Settings) -> Any:
    from bot.wiring import build_container

    return build_container(settings)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


async def prepared_container(settings: Settings) -> Any:
    """The container on a database migrated to the newest schema."""
    from store.migrate import upgrade

    await upgrade(settings.database_url)
    return _container(settings)


async def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from store.migrate import upgrade

    await upgrade(settings.database_url)
    print("database is up to date")
    return EXIT_OK


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


async def _import_csv(settings: Settings, path: Path, kind: str) -> int:
    from pep_model.imports import import_roster, import_staff
    from pep_model.roster import parse_roster, parse_staff

    c = await prepared_container(settings)
    try:
        text = _read_text(path)
        if kind == "roster":
            report = await import_roster(c.uow, parse_roster(text))
        else:
            report = await import_staff(c.uow, parse_staff(text))
    finally:
        await c.close()
    return _reported(f"{kind}: {report.created} new, {report.updated} updated", report)


def _reported(summary: str, report: Any) -> int:
    """Print an import's summary and every rejected row; exit status 1 if any."""
    print(f"{summary}, {report.rejected} rows rejected")
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_PROBLEMS if report.problems else EXIT_OK


async def cmd_import_roster(settings: Settings, args: argparse.Namespace) -> int:
    return await _import_csv(settings, args.file, "roster")


async def cmd_import_staff(settings: Settings, args: argparse.Namespace) -> int:
    return await _import_csv(settings, args.file, "staff")


async def cmd_import_attendance(settings: Settings, args: argparse.Namespace) -> int:
    from pep_model.imports import import_attendance
    from pep_model.roster import parse_attendance

    c = await prepared_container(settings)
    try:
        term_id = c.calendar.get(args.term).id if args.term else c.service.current_term_id()
        report = await import_attendance(c.service, term_id,
                                         parse_attendance(_read_text(args.file)))
    finally:
        await c.close()
    return _reported(f"attendance for {term_id}: {report.updated} PEPs updated", report)


async def cmd_import_previous(settings: Settings, args: argparse.Namespace) -> int:
    from pep_model.imports import import_previous_peps

    c = await prepared_container(settings)
    try:
        term = c.calendar.get(args.term) if args.term else c.calendar.previous(
            c.calendar.current_or_next(c.clock.today()))
        if term is None:
            print("no previous term in the calendar; pass --term", file=sys.stderr)
            return EXIT_USAGE
        files = [(p.name, p.read_bytes()) for p in sorted(args.dir.iterdir()) if p.is_file()]
        report = await import_previous_peps(c.uow, term.id, files)
    finally:
        await c.close()
    print(f"stored {len(report.stored)} finalised PEPs for {term.id}")
    for name in report.unmatched:
        print(f"  unmatched (no child with that LCS id): {name}", file=sys.stderr)
    for name in report.not_pdf:
        print(f"  not a PDF, skipped: {name}", file=sys.stderr)
    return EXIT_PROBLEMS if report.unmatched or report.not_pdf else EXIT_OK


async def cmd_forms_new_term(settings: Settings, args: argparse.Namespace) -> int:
    from bot.paperwork import form_renderer

    c = await prepared_container(settings)
    try:
        term = c.calendar.get(args.term)
        out: Path = args.out or settings.forms_dir / term.id
        out.mkdir(parents=True, exist_ok=True)
        async with c.uow() as uow:
            children = await uow.children.list_all()
        render = form_renderer(c.service, settings.authority_name)
        bar = Bar(f"forms for {term.id}")
        for done, child in enumerate(children, start=1):
            pep = await c.service.open_pep(child.lcs_id, term.id)
            async with c.uow() as uow:
                name, content = await render(uow, pep)
            (out / name).write_bytes(content)
            bar(done, len(children))
    finally:
        await c.close()
    print(f"wrote {len(children)} forms to {out}")
    return EXIT_OK


async def cmd_forms_read(settings: Settings, args: argparse.Namespace) -> int:
    from forms.read_back import NotAPepForm, read_form, to_content

    try:
        reading = read_form(args.file.read_bytes())
    except NotAPepForm as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    contents, errors = to_content(reading)
    print(json.dumps({"child_id": reading.child_id, "term_id": reading.term_id,
                      "sections": contents,
                      "problems": [e.as_dict() | {"where": e.where()} for e in errors]},
                     indent=2, ensure_ascii=False))
    return EXIT_PROBLEMS if errors else EXIT_OK


async def cmd_app_package(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app_package import build_app_package

    if not settings.app_id:
        print("set PEP_APP_ID (the bot's Entra app id) first", file=sys.stderr)
        return EXIT_USAGE
    path = build_app_package(
        app_id=settings.app_id, bot_id=settings.app_id, domain=settings.public_domain,
        version=settings.app_version, developer_name=settings.developer_name,
        website_url=settings.website_url, privacy_url=settings.privacy_url,
        terms_url=settings.terms_url, out_path=args.out)
    print(f"wrote {path}")
    return EXIT_OK


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.server import run

    run(settings)
    return EXIT_OK


async def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import load_demo_data

    c = await prepared_container(settings)
    try:
        summary = await load_demo_data(c, args.examples)
    finally:
        await c.close()
    print(summary)
    return EXIT_OK


Command = Callable[[Settings, argparse.Namespace], Awaitable[int] | int]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pep-companion",
        description="Personal Education Plans for looked-after children, run in Teams. "
                    "Settings come from PEP_* environment variables or .env (see README).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text, **kw)
        sp.set_defaults(func=func)
        return sp

    add("serve", cmd_serve, "Run the bot (POST /api/messages, GET /healthz, GET /readyz).")
    db = sub.add_parser("db", help="Database commands.").add_subparsers(
        dest="db_command", required=True, metavar="DB_COMMAND")
    db.add_parser("upgrade", help="Apply database migrations.",
                  description="Apply database migrations.").set_defaults(func=cmd_db_upgrade)
    sp = add("import-roster", cmd_import_roster,
             "Import the roster CSV of looked-after children (see examples/README.md). "
             "Exit status 1 when any row was rejected.")
    sp.add_argument("file", type=Path, help="CSV file (UTF-8, with or without BOM)")
    sp = add("import-staff", cmd_import_staff,
             "Import Virtual School, coordinator, advisor and Business Support staff.")
    sp.add_argument("file", type=Path)
    sp = add("import-attendance", cmd_import_attendance,
             "Import attendance (sessions possible, attended, unauthorised, explanation) "
             "into each child's PEP; rows breaking the attendance rule are reported.")
    sp.add_argument("file", type=Path)
    sp.add_argument("--term", help="term id (default: the current term)")
    sp = add("import-previous-peps", cmd_import_previous,
             "Store last term's finalised PDFs, matched to children by the LCS id in the "
             "file name.")
    sp.add_argument("dir", type=Path)
    sp.add_argument("--term", help="term the PDFs belong to (default: the previous term)")
    forms = sub.add_parser("forms", help="Word PEP forms.").add_subparsers(
        dest="forms_command", required=True, metavar="FORMS_COMMAND")
    sp = forms.add_parser("new-term", help="Write every child's new-term PEP form.",
                          description="Write every child's new-term PEP form.")
    sp.set_defaults(func=cmd_forms_new_term)
    sp.add_argument("--term", required=True, help="term id, e.g. 2027-spring")
    sp.add_argument("--out", type=Path, help="folder (default PEP_FORMS_DIR/<term>)")
    sp = forms.add_parser("read", help="Read a completed PEP form and print it as JSON.",
                          description="Read a completed PEP form and print it as JSON.")
    sp.set_defaults(func=cmd_forms_read)
    sp.add_argument("file", type=Path)
    sp = add("app-package", cmd_app_package, "Build the Teams app package (zip).")
    sp.add_argument("--out", type=Path, default=Path("out"), help="folder (default out/)")
    sp = add("demo-data", cmd_demo_data,
             "Load the fictional sample authority (roster, staff, last term's PDFs).")
    sp.add_argument("--examples", type=Path, default=Path("examples"))
    from bot.cli_m365 import add_commands as add_m365_commands
    from bot.cli_reports import add_commands as add_report_commands

    add_m365_commands(sub)
    add_report_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    result = args.func(settings, args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
