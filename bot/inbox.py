"""PEP forms e-mailed back (seed step 5), offline: a watched folder (`PEP_INBOX_DIR`) of
.eml files. Each new message is read once: its .docx attachments are saved into their
PEPs exactly as an upload in Teams or `forms import --as` does (pep_model/form_import.py),
as the sender — who must be on record with the right to complete that child's PEP — then
the .eml moves to `done/` (or `refused/`) and the sender is answered through the outbox
with what was saved and what needs attention.

Once only: the reply's idempotency key comes from the message's Message-ID, so a message
whose reply is already in the outbox is only moved, never imported or answered again; and
a moved file is no longer in the folder. `import_messages` takes the messages from any
source: the Graph mailbox (docs/m365.md, not built yet) would call it the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the email package is imported when a message is read: --help stays fast
    from email.message import EmailMessage

log = logging.getLogger(__name__)

DONE, REFUSED = "done", "refused"
REPLY_KEY_PREFIX = "inbox-reply:"
MAX_FORMS_PER_MESSAGE = 5  # as an upload (bot/upload_limits.py)

OLD_WORD = (
    "{name} is an old Word file. In Word choose File > Save As and save it as "
    "Word Document (.docx), not Word 97-2003, then send it again."
)
NOT_WORD = "{name} is not a .docx file. Send the PEP form as a Word document."


@dataclass
class MessageOutcome:
    """One message read: where it went (done / refused) and what the sender is told."""

    name: str
    folder: str
    saved_forms: int = 0
    already: bool = False  # answered before: only moved


@dataclass
class InboxReport:
    messages: list[MessageOutcome] = field(default_factory=list)

    def summary(self) -> str:
        done = sum(1 for m in self.messages if m.folder == DONE and not m.already)
        refused = sum(1 for m in self.messages if m.folder == REFUSED and not m.already)
        again = sum(1 for m in self.messages if m.already)
        saved = sum(m.saved_forms for m in self.messages)
        return (
            f"{len(self.messages)} message(s): {done} read, {refused} refused, "
            f"{again} already answered; {saved} form(s) saved"
        )


def reply_key(message: EmailMessage, raw: bytes) -> str:
    """The reply's idempotency key: from the Message-ID (else the message's bytes)."""
    ident = str(message.get("Message-ID") or "").strip()
    digest = hashlib.sha256((ident or raw.hex()).encode()).hexdigest()[:32]
    return REPLY_KEY_PREFIX + digest


def sender_address(message: EmailMessage) -> str:
    from email.utils import parseaddr

    return parseaddr(str(message.get("From") or ""))[1].strip().lower()


def _section_titles(keys: Iterable[str]) -> str:
    from pep_model.sections import section_spec

    return ", ".join(section_spec(k).title for k in keys)


def outcome_lines(o: Any, name: str) -> list[str]:
    """What happened to one form, in words (as the upload's answer, cards/form_upload)."""
    from cards.elements import problem_lines
    from cards.form_upload import clearing_line, conflict_lines

    child = o.child
    lines = [f"{name} — {child.initials} ({child.lcs_id}), {o.term.label} PEP"]
    if o.other_term:
        return [
            *lines,
            f"  This form is for the {o.term.label} PEP, but the current term "
            f"is the {o.current_term.label}. Nothing was saved: send this term's form, "
            f"or ask Business Support to save it into the {o.term.label} PEP.",
        ]
    if o.locked:
        return [*lines, f"  {o.locked} Nothing from this form was saved."]
    if o.saved:
        lines.append(f"  Saved: {_section_titles(o.saved)}.")
    else:
        lines.append("  Nothing in the PEP was changed by this form.")
    for c in o.conflicts:
        lines.extend("  " + line for line in conflict_lines(c))
    if o.kept_newer:
        lines.append(
            f"  Kept the newer answers already in the PEP: {_section_titles(o.kept_newer)}."
        )
    if o.meeting_kept:
        lines.append(
            f"  Recorded in the meeting, so not changed by a form: "
            f"{_section_titles(o.meeting_kept)}."
        )
    if o.not_yet:
        lines.append(
            f"  Completed in the meeting, not from the form: {_section_titles(o.not_yet)}."
        )
    if o.outside:
        lines.append(
            f"  Text typed outside the boxes was not read in: "
            f"{_section_titles(o.outside)}. Type it into the boxes and send the "
            "form again."
        )
    if o.clearings:
        lines.append(
            "  Boxes left empty were not cleared (the answers are kept): "
            + "; ".join(clearing_line(c) for c in o.clearings)
            + "."
        )
    problems = [*o.problems, *o.gaps]
    if problems:
        lines.append(f"  Needs attention ({len(problems)}):")
        lines.extend(f"  - {line}" for line in problem_lines(problems, 30))
    elif not o.conflicts:
        lines.append("  Nothing needs attention.")
    return lines


async def _actor(container: Any, email: str) -> Any:
    from bot.cli_forms import _actor as find_actor

    return await find_actor(container, email) if email else None


async def _read_attachment(
    container: Any, actor: Any, address: str, name: str, data: bytes
) -> tuple[list[str], bool]:
    """(lines for the reply, whether anything was saved)."""
    from bot.upload_limits import read_uploaded_form
    from forms.read_back import NotAPepForm, returned_form
    from pep_model.errors import NotAllowed, NotFound
    from pep_model.form_import import FormImport

    limit = container.settings.max_upload_bytes
    if len(data) > limit:
        return [f"{name} is larger than {limit // (1024 * 1024)} MB, so it was not read."], False
    try:
        form = returned_form(await read_uploaded_form(data))
        outcome = await FormImport(container.service).import_form(
            form, actor, f"e-mail from {address}, {name}"
        )
    except NotAPepForm as exc:
        return [f"{name}: {exc}"], False
    except NotFound:
        return [
            f"{name}: this PEP form is not for a child whose PEP is held here. Send "
            "the form you were sent for this term."
        ], False
    except NotAllowed:
        return [
            f"{name}: you are not on record as someone who completes this child's "
            "PEP, so nothing from it was saved."
        ], False
    log.info(
        "inbox: form for PEP %s imported, %d section(s) saved", form.pep_id, len(outcome.saved)
    )
    return outcome_lines(outcome, name), bool(outcome.saved)


async def import_message(container: Any, raw: bytes, name: str, *, sender: str) -> MessageOutcome:
    """Read one e-mailed message, save its forms, queue the reply. Does not move it."""
    from email import policy
    from email.message import EmailMessage
    from email.parser import BytesParser

    from pep_model.outbox import mail

    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    key = reply_key(message, raw)
    async with container.uow() as uow:
        if await uow.outbox.get(key) is not None:
            return MessageOutcome(name, DONE, already=True)
    address = sender_address(message)
    actor = await _actor(container, address)
    subject = str(message.get("Subject") or "your PEP form")
    if actor is None:
        body = [
            f'Nothing from your message "{subject}" was saved: {address or "the sender"}'
            " is not on record as someone who completes a child's PEP here. Please "
            "send the form from the e-mail address the Virtual School has for you, or "
            "ask the Virtual School to add you."
        ]
        outcome = MessageOutcome(name, REFUSED)
    else:
        body, outcome = await _read_forms(container, actor, address, message, name)
    if address:
        async with container.uow() as uow:
            await uow.outbox.add(
                mail(
                    key,
                    sender=sender,
                    to=[address],
                    subject=f"Re: {subject}",
                    body="\n".join([*body, "", "PEP Companion"]),
                ),
                container.clock.now(),
            )
            await uow.commit()
    log.info("inbox: %s -> %s", name, outcome.folder)
    return outcome


async def _read_forms(
    container: Any, actor: Any, address: str, message: EmailMessage, name: str
) -> tuple[list[str], MessageOutcome]:
    outcome = MessageOutcome(name, DONE)
    attachments = [a for a in message.iter_attachments() if a.get_filename()]
    forms = [a for a in attachments if str(a.get_filename()).lower().endswith(".docx")]
    body: list[str] = []
    if len(forms) > MAX_FORMS_PER_MESSAGE:
        body.append(
            f"I read up to {MAX_FORMS_PER_MESSAGE} forms from one message and "
            f"this one has {len(forms)}, so none of them was read. Please send them "
            f"again, up to {MAX_FORMS_PER_MESSAGE} in a message."
        )
        attachments = []
    for part in attachments:
        filename = Path(str(part.get_filename())).name
        if filename.lower().endswith(".doc"):
            body.append(OLD_WORD.format(name=filename))
        elif not filename.lower().endswith(".docx"):
            body.append(NOT_WORD.format(name=filename))
        else:
            data = part.get_payload(decode=True)
            lines, saved = await _read_attachment(
                container, actor, address, filename, data if isinstance(data, bytes) else b""
            )
            body.extend(lines)
            outcome.saved_forms += saved
        body.append("")
    if not attachments and not body:
        body.append(
            "Your message had no PEP form attached. Attach the completed PEP form "
            "(a .docx Word document) and send it again."
        )
    if not any(str(a.get_filename()).lower().endswith(".docx") for a in attachments):
        outcome.folder = REFUSED
    return [
        f"Thank you. This is what happened to the PEP form(s) in your message "
        f'"{message.get("Subject") or ""}":',
        "",
        *body,
    ], outcome


def _move(path: Path, folder: str) -> None:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / f"{path.stem}-{n}{path.suffix}"
        n += 1
    path.replace(target)


async def import_inbox(container: Any, folder: Path, *, sender: str) -> InboxReport:
    """Every new .eml in `folder`, oldest name first; each moved when it has been read."""
    import asyncio

    report = InboxReport()
    for path in sorted(await asyncio.to_thread(lambda: list(folder.glob("*.eml")))):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:  # taken by another instance meanwhile
            continue
        outcome = await import_message(container, raw, path.name, sender=sender)
        with contextlib.suppress(FileNotFoundError):  # moved by another run meanwhile
            _move(path, outcome.folder)
        report.messages.append(outcome)
    return report


async def cmd_inbox_import(settings: Any, args: Any) -> int:
    """`pep-companion inbox import`: read PEP_INBOX_DIR once and deliver the replies."""
    import sys

    from bot.cli_m365 import _runtime

    folder = args.dir or settings.inbox_dir
    if not folder:
        print("no inbox folder: set PEP_INBOX_DIR or give --dir", file=sys.stderr)
        return 2
    if not Path(folder).is_dir():
        print(f"{folder}: no such folder", file=sys.stderr)
        return 2
    async with _runtime(settings) as runtime:
        report = await import_inbox(runtime.container, Path(folder), sender=runtime.sender)
        await runtime.dispatcher.drain()
    print(report.summary())
    return 0


def add_commands(sub: Any) -> None:
    inbox = sub.add_parser("inbox", help="PEP forms e-mailed back.").add_subparsers(
        dest="inbox_command", required=True, metavar="INBOX_COMMAND"
    )
    text = (
        "Read each new .eml in PEP_INBOX_DIR: save its attached PEP forms into their "
        "PEPs as the sender (who must be on record), move it to done/ or refused/, "
        "and answer the sender with what was saved and what needs attention."
    )
    sp = inbox.add_parser("import", help=text, description=text)
    sp.set_defaults(func=cmd_inbox_import)
    sp.add_argument("--dir", type=Path, help="the folder (default PEP_INBOX_DIR)")
