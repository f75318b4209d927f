"""pep-companion: the command line for IT teams and scheduled jobs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs: `--help` stays fast (docs/benchmarks.md)
    from bot.settings import Settings

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class Refused(Exception):
    """A command cannot start (a missing file, a wrong setting, no database): one line
    on stderr, exit status 2, never a traceback."""


def need_file(path: Path) -> Path:
    if not path.exists():
        raise Refused(f"{path}: no such file")
    if not path.is_file():
        raise Refused(f"{path}: is a folder, not a file")
    return path


def need_folder(path: Path) -> Path:
    if not path.is_dir():
        raise Refused(f"{path}: no such folder")
    return path


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
            sys.stderr.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            )
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
    import logging

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


async def prepared_container(settings: Settings) -> Any:
    """The container on the existing database (brought to the newest schema); refuses
    when there is none — only `db upgrade`, `demo-data` and `serve` create one."""
    from bot.cli_database import NoDatabase, require_database

    try:
        await require_database(settings.database_url)
    except NoDatabase as exc:
        raise Refused(str(exc)) from None
    return _container(settings)


async def created_container(settings: Settings) -> Any:
    """The container on a database created or migrated to the newest schema."""
    from store.migrate import upgrade

    await upgrade(settings.database_url)
    return _container(settings)


async def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from store.migrate import upgrade

    await upgrade(settings.database_url)
    print("database is up to date")
    return EXIT_OK


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(f"{path}: not UTF-8 text (in Excel: Save As 'CSV UTF-8')") from None


def _term(c: Any, term_id: str) -> Any:
    """The term with this id in the authority's calendar; Refused naming the ids."""
    try:
        return c.calendar.get(term_id)
    except ValueError as exc:
        known = ", ".join(t.id for t in c.calendar.terms)
        raise Refused(f"--term: {exc} (terms: {known})") from None


async def _import_csv(settings: Settings, path: Path, kind: str) -> int:
    from pep_model.imports import import_roster, import_staff
    from pep_model.roster import parse_roster, parse_staff

    text = _read_text(need_file(path))
    c = await prepared_container(settings)
    try:
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

    text = _read_text(need_file(args.file))
    c = await prepared_container(settings)
    try:
        term_id = _term(c, args.term).id if args.term else c.service.current_term_id()
        report = await import_attendance(c.service, term_id, parse_attendance(text))
    finally:
        await c.close()
    return _reported(f"attendance for {term_id}: {report.updated} PEPs updated", report)


async def cmd_import_previous(settings: Settings, args: argparse.Namespace) -> int:
    from pep_model.imports import import_previous_peps

    need_folder(args.dir)
    c = await prepared_container(settings)
    try:
        term = (
            _term(c, args.term)
            if args.term
            else c.calendar.previous(c.calendar.current_or_next(c.clock.today()))
        )
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
        # the term people are in unless another is asked for (uploads of another
        # term's form ask before saving: docs/forms.md)
        term = _term(c, args.term or c.service.current_term_id())
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


async def cmd_app_package(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app_package import build_app_package, example_settings

    if not settings.app_id:
        raise Refused("PEP_APP_ID is not set: set the bot's Entra app id (a GUID) first")
    examples = example_settings(settings)
    if examples and not args.allow_example:
        raise Refused(
            f"{', '.join(examples)} still the example (pep-companion.example.org):"
            " set your own, or pass --allow-example for a test package"
        )
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise Refused(f"--out {out}: is a file; give a folder (it is created when missing)")
    out.mkdir(parents=True, exist_ok=True)
    try:
        path = build_app_package(
            app_id=settings.app_id,
            bot_id=settings.app_id,
            domain=settings.public_domain,
            version=settings.app_version,
            developer_name=settings.developer_name,
            website_url=settings.website_url,
            privacy_url=settings.privacy_url,
            terms_url=settings.terms_url,
            out_path=out,
        )
    except ValueError as exc:
        raise Refused(str(exc)) from None
    print(f"wrote {path}")
    return EXIT_OK


def cmd_terms(settings: Settings, args: argparse.Namespace) -> int:
    """The authority's terms: id, first and last day, half-term (no database needed)."""
    from bot.wiring import load_calendar
    from pep_model.terms import british_date

    try:
        calendar = load_calendar(settings.term_dates_file)
    except ValueError as exc:
        raise Refused(f"PEP_TERM_DATES_FILE {settings.term_dates_file}: {exc}") from None
    for term in calendar.terms:
        half = term.half_term
        print(
            f"{term.id:<12} {british_date(term.start)} to {british_date(term.end)}  "
            + (
                f"half-term {british_date(half.start)} to {british_date(half.end)}"
                if half
                else "no half-term"
            )
        )
    return EXIT_OK


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.server import run

    run(settings)
    return EXIT_OK


async def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import load_demo_data

    need_folder(args.examples)
    c = await created_container(settings)
    try:
        summary = await load_demo_data(c, args.examples)
    finally:
        await c.close()
    print(summary)
    return EXIT_OK


Command = Callable[["Settings", argparse.Namespace], Awaitable[int] | int]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pep-companion",
        description="Personal Education Plans for looked-after children, run in Teams. "
        "Settings come from PEP_* environment variables or .env (see README).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, help_text: str, **kw: Any) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text, **kw)
        sp.set_defaults(func=func)
        return sp

    add("serve", cmd_serve, "Run the bot (POST /api/messages, GET /healthz, GET /readyz).")
    db = sub.add_parser("db", help="Database commands.").add_subparsers(
        dest="db_command", required=True, metavar="DB_COMMAND"
    )
    db.add_parser(
        "upgrade", help="Apply database migrations.", description="Apply database migrations."
    ).set_defaults(func=cmd_db_upgrade)
    sp = add(
        "import-roster",
        cmd_import_roster,
        "Import the roster CSV of looked-after children (see examples/README.md). "
        "Exit status 1 when any row was rejected.",
    )
    sp.add_argument("file", type=Path, help="CSV file (UTF-8, with or without BOM)")
    sp = add(
        "import-staff",
        cmd_import_staff,
        "Import Virtual School, coordinator, advisor and Business Support staff.",
    )
    sp.add_argument("file", type=Path)
    sp = add(
        "import-attendance",
        cmd_import_attendance,
        "Import attendance (sessions possible, attended, unauthorised, explanation) "
        "into each child's PEP; rows breaking the attendance rule are reported.",
    )
    sp.add_argument("file", type=Path)
    sp.add_argument("--term", help="term id (default: the current term)")
    sp = add(
        "import-previous-peps",
        cmd_import_previous,
        "Store last term's finalised PDFs, matched to children by the LCS id in the file name.",
    )
    sp.add_argument("dir", type=Path)
    sp.add_argument("--term", help="term the PDFs belong to (default: the previous term)")
    forms = sub.add_parser("forms", help="Word PEP forms.").add_subparsers(
        dest="forms_command", required=True, metavar="FORMS_COMMAND"
    )
    sp = forms.add_parser(
        "new-term",
        help="Write every child's new-term PEP form.",
        description="Write every child's new-term PEP form.",
    )
    sp.set_defaults(func=cmd_forms_new_term)
    sp.add_argument("--term", help="term id, e.g. 2027-spring (default: the current term)")
    sp.add_argument("--out", type=Path, help="folder (default PEP_FORMS_DIR/<term>)")
    from bot.cli_forms import add_commands as add_form_commands

    add_form_commands(forms)  # forms read, forms import
    sp = add(
        "app-package",
        cmd_app_package,
        "Build the Teams app package (zip) from PEP_APP_ID, PEP_PUBLIC_DOMAIN and the "
        "URL settings. Refuses the example domain unless --allow-example.",
    )
    sp.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        help="folder for pep-companion-<version>.zip, created when missing (default out/)",
    )
    sp.add_argument(
        "--allow-example",
        action="store_true",
        help="accept the example domain pep-companion.example.org (a test "
        "package that Teams cannot reach)",
    )
    add(
        "terms",
        cmd_terms,
        "List the terms (PEP_TERM_DATES_FILE or the built-in "
        "calendar): term id, first and last day, half-term.",
    )
    sp = add(
        "demo-data",
        cmd_demo_data,
        "Load the fictional sample authority (roster, staff, last term's PDFs).",
    )
    sp.add_argument("--examples", type=Path, default=Path("examples"))
    from bot.cli_m365 import add_commands as add_m365_commands
    from bot.cli_reports import add_commands as add_report_commands

    add_m365_commands(sub)
    from bot.inbox import add_commands as add_inbox_commands

    add_inbox_commands(sub)  # inbox import
    add_report_commands(sub)
    return p


def load_settings() -> Settings:
    """The settings, or Refused naming each malformed PEP_ setting and what it expects."""
    from pydantic import ValidationError

    from bot.settings import Settings, describe_errors

    try:
        return Settings()
    except ValidationError as exc:
        raise Refused("; ".join(describe_errors(exc))) from None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import asyncio

    try:
        settings = load_settings()
        configure_logging(settings)
        result = args.func(settings, args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except Refused as exc:
        print(f"pep-companion: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file named in a setting, a folder that cannot be written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"pep-companion: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return int(result)


if __name__ == "__main__":  # python -m bot.cli: the module's own classes, not __main__'s
    from bot.cli import main as cli_main

    sys.exit(cli_main())
