"""`forms read` and `forms import`: a returned PEP form judged by the same rules as an
upload in Teams (pep_model/form_import.py), read only or saved into its PEP."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs: `--help` stays fast
    from bot.settings import Settings

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _where(error: Any) -> dict[str, Any]:
    return dict(error.as_dict()) | {"where": error.where()}


def _report(outcome: Any) -> dict[str, Any]:
    """What the upload's answer says, as JSON."""
    from cards.form_upload import clearing_line, conflict_lines

    return {
        "term": outcome.term.label,
        "current_term": outcome.current_term.label,
        "other_term": outcome.other_term,
        "locked": outcome.locked,
        "saved": outcome.saved,
        "problems": [_where(e) for e in [*outcome.problems, *outcome.gaps]],
        "conflicts": [" / ".join(conflict_lines(c)) for c in outcome.conflicts],
        "kept_newer": outcome.kept_newer,
        "meeting_kept": outcome.meeting_kept,
        "not_yet": outcome.not_yet,
        "would_clear": [clearing_line(c) for c in outcome.clearings],
        "outside_boxes": outcome.outside,
    }


async def _actor(c: Any, email: str) -> Any:
    from pep_model.access import Actor

    async with c.uow() as uow:
        person = await uow.people.find(email=email.strip().lower())
        if person is None:
            return None
        assignments = await uow.people.assignments(person.id)
    return Actor(person=person, assignments=tuple(assignments))


async def cmd_forms_read(settings: Settings, args: argparse.Namespace) -> int:
    """Print what a form says and what an upload of it would report (nothing saved)."""
    from bot.cli import need_file, prepared_container
    from forms.read_back import NotAPepForm, read_form, returned_form
    from pep_model.access import SYSTEM
    from pep_model.errors import NotFound
    from pep_model.form_import import FormImport

    try:
        form = returned_form(read_form(need_file(args.file).read_bytes()))
    except NotAPepForm as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    shown: dict[str, Any] = {
        "child_id": form.child_id,
        "term_id": form.term_id,
        "sections": dict(form.sections),
    }
    c = await prepared_container(settings)
    try:
        outcome = await FormImport(c.service).import_form(
            form, SYSTEM, "forms read", other_term_confirmed=True, dry_run=True
        )
        shown |= _report(outcome)
        problems = bool(
            outcome.problems
            or outcome.gaps
            or outcome.conflicts
            or outcome.outside
            or outcome.locked
        )
    except NotFound:  # no such PEP held: only what the form itself says can be judged
        shown["problems"] = [_where(e) for e in form.problems]
        shown["note"] = f"no PEP {form.pep_id} is held here, so only what could be read was checked"
        problems = bool(form.problems)
    finally:
        await c.close()
    print(json.dumps(shown, indent=2, ensure_ascii=False, default=str))
    return EXIT_PROBLEMS if problems else EXIT_OK


async def cmd_forms_import(settings: Settings, args: argparse.Namespace) -> int:
    """Save each form into its PEP exactly as an upload in Teams does, as the person
    given by --as (on record, with the right to complete that child's PEP)."""
    from bot.cli import prepared_container
    from forms.read_back import NotAPepForm, read_form, returned_form
    from pep_model.errors import NotAllowed, NotFound
    from pep_model.form_import import FormImport

    c = await prepared_container(settings)
    status = EXIT_OK
    try:
        actor = await _actor(c, args.as_email)
        if actor is None:
            print(
                f"--as {args.as_email}: nobody with that e-mail is on record; import "
                "the staff or roster file that names them first",
                file=sys.stderr,
            )
            return EXIT_USAGE
        importer = FormImport(c.service)
        for path in args.files:
            try:
                form = returned_form(read_form(path.read_bytes()))
                outcome = await importer.import_form(
                    form, actor, f"forms import: {path.name}", other_term_confirmed=args.other_term
                )
            except OSError as exc:
                print(f"{path}: cannot be read ({exc.strerror or exc})", file=sys.stderr)
                status = EXIT_PROBLEMS
                continue
            except (NotAPepForm, NotFound, NotAllowed) as exc:
                print(f"{path}: {exc}", file=sys.stderr)
                status = EXIT_PROBLEMS
                continue
            print(
                json.dumps(
                    {"file": str(path), "pep": form.pep_id} | _report(outcome),
                    indent=2,
                    ensure_ascii=False,
                    default=str,
                )
            )
            if outcome.other_term:
                print(
                    f"{path}: for the {outcome.term.label}, not the current "
                    f"{outcome.current_term.label}; nothing saved (add --other-term to "
                    "save it into that term's PEP)",
                    file=sys.stderr,
                )
            if (
                outcome.other_term
                or outcome.locked
                or outcome.problems
                or outcome.conflicts
                or outcome.gaps
                or outcome.outside
            ):
                status = EXIT_PROBLEMS
    finally:
        await c.close()
    return status


def add_commands(forms: Any) -> None:
    """`forms read` and `forms import` under the `forms` command."""
    sp = forms.add_parser(
        "read",
        help="Read a completed PEP form: what it says and what saving it would do "
        "(JSON); nothing is saved.",
        description="Read a completed PEP form and print, as JSON, what it says and what "
        "an upload of it would save and report (the same rules). Nothing is saved. Exit "
        "status 1 when anything needs attention.",
    )
    sp.set_defaults(func=cmd_forms_read)
    sp.add_argument("file", type=Path)
    sp = forms.add_parser(
        "import",
        help="Save returned PEP forms into their PEPs, as an upload does.",
        description="Save each returned PEP form (e.g. e-mailed back by a school) into "
        "its PEP exactly as an upload in Teams does: only what the form's author changed, "
        "never over newer answers typed in Teams, never clearing an answer, never the "
        "meeting's record. Audited as imported by --as. Exit status 1 when anything "
        "needs attention.",
    )
    sp.set_defaults(func=cmd_forms_import)
    sp.add_argument("files", type=Path, nargs="+", metavar="FILE")
    sp.add_argument(
        "--as",
        dest="as_email",
        required=True,
        metavar="EMAIL",
        help="who is importing (on record, with the right to complete the "
        "child's PEP, e.g. the child's social worker or a Virtual School "
        "officer); the audit log names them",
    )
    sp.add_argument(
        "--other-term",
        action="store_true",
        help="save a form for another term than the current one into that "
        "term's PEP (otherwise it is reported and not saved)",
    )
