"""Personal chat: my PEPs, completing sections, Word form upload, the record file."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import cards
from bot.card_data import BadRequest, data_page, data_section, data_str
from bot.connector import FileTooLarge
from bot.files import FILE_DOWNLOAD, file_offer, save_accepted, upload_address
from bot.turn import Outgoing, Reply, Turn
from bot.upload_limits import read_uploaded_form
from cards.form_upload import FORM_CLEAR, FORM_OTHER_TERM, cleared_card, form_import_card
from cards.walkthrough import NAV_INPUT
from forms.read_back import NotAPepForm, returned_form
from pep_model.access import Actor, Capability
from pep_model.errors import NotAllowed, NotFound
from pep_model.form_import import FormImport
from pep_model.form_merge import Clearing
from pep_model.pep import pep_id_for
from pep_model.sections import SECTION_KEYS
from pep_model.services import PepService, PepView

log = logging.getLogger(__name__)

SaveTyped = Callable[[Turn, Actor, Mapping[str, Any]], Awaitable[Reply | None]]
Download = Callable[[str], Awaitable[bytes]]
Upload = Callable[[str, bytes], Awaitable[None]]
RecordFile = Callable[[str], Awaitable[tuple[str, bytes]]]  # pep id -> (name, bytes)


class PersonalRoutes:
    def __init__(
        self,
        service: PepService,
        save_typed: SaveTyped,
        download: Download,
        upload: Upload,
        record_file: RecordFile,
    ) -> None:
        self.service = service
        self.save_typed = save_typed
        self.download = download
        self.upload_file = upload
        self.record_file = record_file

    def _term_label(self) -> str:
        return self.service.calendar.get(self.service.current_term_id()).label

    async def my_peps(self, turn: Turn, actor: Actor) -> Reply:
        views = await self.service.my_peps(actor)
        if not views:
            return Reply(
                messages=[
                    Outgoing(
                        card=cards.message_card(
                            "No PEPs", "You are not assigned to any child's PEP this term."
                        )
                    )
                ]
            )
        return Reply(messages=[Outgoing(card=cards.my_peps_card(views, self._term_label()))])

    async def my_peps_command(self, turn: Turn, actor: Actor, match: Any) -> Reply:
        return await self.my_peps(turn, actor)

    async def list_peps(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        page = data_page(data)  # a malformed page is refused, naming it
        views = await self.service.my_peps(actor)
        return Reply(invoke_card=cards.my_peps_card(views, self._term_label(), page=page))

    async def open_command(self, turn: Turn, actor: Actor, match: Any) -> Reply:
        child_id = (match.group(1) or "").upper()
        if not child_id:
            return Reply(
                messages=[
                    Outgoing(
                        card=cards.message_card(
                            "Which child?",
                            "Type 'open' and the child's LCS id, e.g. 'open LCS100001', "
                            "or type 'my peps' and press Open beside the child.",
                        )
                    )
                ]
            )
        return Reply(messages=[Outgoing(card=await self._open_card(actor, child_id))])

    async def _open_card(self, actor: Actor, child_id: str) -> dict[str, Any]:
        try:
            view = await self.service.pep_or_preview(
                child_id, self.service.current_term_id(), actor
            )
        except NotAllowed:  # the same answer whether the child exists or not
            return cards.message_card(
                "No PEP found",
                f"I can't find a child with the LCS id {child_id} whose PEP "
                "you work on. Check the id, or type 'my peps' to see your children's PEPs.",
                style="attention",
            )
        return self._section_card(view, actor, _first_gap(view))

    def _section_card(self, view: PepView, actor: Actor, key: str, **extra: Any) -> dict[str, Any]:
        """The section editable, or read-only for whoever cannot change it now."""
        if view.editable_by(actor, key):
            return cards.section_edit_card(view, key, **extra)
        return cards.section_edit_card(view, key, notice=extra.get("notice", ""), read_only=True)

    async def _view(self, actor: Actor, data: Mapping[str, Any]) -> PepView:
        """The PEP a card names; one nobody has opened yet is opened (or previewed) for
        the child the card carries."""
        pep_id = data_str(data, "pep_id")
        try:
            return await self.service.get(pep_id, actor)
        except NotFound:
            child_id = data.get("child_id")
            if (
                not isinstance(child_id, str)
                or pep_id_for(child_id, self.service.current_term_id()) != pep_id
            ):
                raise
            return await self.service.pep_or_preview(
                child_id, self.service.current_term_id(), actor
            )

    async def open_pep(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        view = await self._view(actor, data)
        return Reply(invoke_card=self._section_card(view, actor, _first_gap(view)))

    async def open_section(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        refused = await self.save_typed(turn, actor, data)  # moving on saves first
        if refused is not None:
            return refused
        view = await self._view(actor, data)
        key = data_section(data, "section" if data.get("section") else NAV_INPUT)
        return Reply(invoke_card=self._section_card(view, actor, key))

    async def readiness(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        return Reply(invoke_card=cards.readiness_card(await self._view(actor, data)))

    # ---- the Word form, uploaded ---------------------------------------------------

    def verbs(self) -> dict[str, Any]:
        """The buttons of the answer to an uploaded form."""
        return {FORM_CLEAR: self.clear_answers, FORM_OTHER_TERM: self.save_other_term}

    async def upload(self, turn: Turn, actor: Actor) -> Reply:
        replies = Reply()
        for attachment in turn.attachments:
            if attachment.get("contentType") != FILE_DOWNLOAD:
                continue
            name = str(attachment.get("name") or "the file")
            content = attachment.get("content") or {}
            url = content.get("downloadUrl") if isinstance(content, Mapping) else None
            if name.lower().endswith(".doc"):
                replies.messages.append(
                    Outgoing(
                        card=cards.message_card(
                            "Word 97-2003 file",
                            f"{name} is an old Word file. In Word choose File > "
                            "Save As and save it as Word Document (.docx), not Word 97-2003, then "
                            "send it again.",
                            style="attention",
                        )
                    )
                )
                continue
            if not name.lower().endswith(".docx") or not isinstance(url, str):
                replies.messages.append(
                    Outgoing(
                        card=cards.message_card(
                            "Not a Word form",
                            f"{name} is not a .docx file. Send the PEP form as a Word document.",
                            style="attention",
                        )
                    )
                )
                continue
            replies.messages.append(Outgoing(card=await self._read_upload(actor, name, url)))
        return replies

    async def save_other_term(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        """'Save into that term's PEP': the same file read again, the term confirmed."""
        name, url, term_id = (
            data_str(data, "name"),
            data_str(data, "url"),
            data_str(data, "term_id"),
        )
        return Reply(invoke_card=await self._read_upload(actor, name, url, other_term=term_id))

    async def clear_answers(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        """'Clear them': exactly the answers the card listed, where still unchanged."""
        pep_id = data_str(data, "pep_id")
        clearings, versions = _clearings(data)
        outcome = await FormImport(self.service).clear_answers(pep_id, clearings, versions, actor)
        return Reply(invoke_card=cleared_card(outcome))

    async def _download(self, name: str, url: str) -> bytes | dict[str, Any]:
        try:
            return await self.download(url)
        except FileTooLarge as exc:  # sending it again would not help: say why
            mb = 1024 * 1024  # the limit rounded down, the size up, to 0.1 MB
            limit = f"{exc.limit * 10 // mb / 10:g} MB"
            size = f"is {-(-exc.size * 10 // mb) / 10:g} MB" if exc.size else "is larger than that"
            log.info("refused an uploaded form of %s bytes", exc.size or "too many")
            return cards.message_card(
                "File too large",
                f"PEP forms up to {limit} can be read; {name} {size}. "
                "Make it smaller (for example, remove pictures or save it without them) "
                "and send it again.",
                style="attention",
            )
        except NotAPepForm as exc:
            return cards.message_card("Not a PEP form", f"{name}: {exc}", style="attention")
        except Exception as exc:  # a download that failed: say so, keep nothing
            log.warning("could not fetch an uploaded form: %s", type(exc).__name__)
            return cards.message_card(
                "Could not read the file",
                f"I could not download {name}. Please send it again.",
                style="attention",
            )

    async def _read_upload(
        self, actor: Actor, name: str, url: str, *, other_term: str = ""
    ) -> dict[str, Any]:
        data = await self._download(name, url)
        if isinstance(data, dict):
            return data
        try:
            form = returned_form(await read_uploaded_form(data))  # off the event loop
        except NotAPepForm as exc:
            return cards.message_card("Not a PEP form", f"{name}: {exc}", style="attention")
        try:
            outcome = await FormImport(self.service).import_form(
                form,
                actor,
                f"uploaded in Teams: {name}",
                other_term_confirmed=bool(other_term) and other_term == form.term_id,
            )
        except NotFound:
            return cards.message_card(
                "Unknown PEP",
                f"{name} is for a PEP I do not hold ({form.child_id}, {form.term_id}).",
                style="attention",
            )
        log.info("form uploaded for %s: saved %s", form.pep_id, ",".join(outcome.saved))
        return form_import_card(
            outcome, name, term_data={"name": name, "url": url, "term_id": form.term_id}
        )

    # ---- the record file (Teams file consent) --------------------------------------

    async def file_consent(self, turn: Turn, actor: Actor) -> Reply:
        value = turn.value if isinstance(turn.value, Mapping) else {}
        context = value.get("context") or {}
        pep_id = context.get("pep_id") if isinstance(context, Mapping) else None
        if not isinstance(pep_id, str):
            raise BadRequest("The file offer did not say which PEP.")
        await self.service.get(pep_id, actor, Capability.LEAD_MEETING)
        if value.get("action") != "accept":
            return Reply(
                messages=[
                    Outgoing(
                        text="All right, I haven't saved the PEP record. "
                        "Type 'my peps' to find it again."
                    )
                ]
            )
        upload_address(value)  # no address: nothing to make
        name, content = await self.record_file(pep_id)
        return await save_accepted(self.upload_file, value, name, content)


def record_offer(name: str, size: int, pep_id: str) -> dict[str, Any]:
    """The meeting's record offered to the PEP lead in personal chat."""
    return file_offer(name, size, {"pep_id": pep_id}, "The PEP record from the meeting")


def _first_gap(view: PepView) -> str:
    return view.problems[0].section if view.problems else SECTION_KEYS[0]


def _clearings(data: Mapping[str, Any]) -> tuple[list[Clearing], dict[str, int]]:
    """The answers a 'Clear them' button carries (cards.form_upload.clear_data), and
    the section versions it was made at; anything else is a malformed card."""
    raw, versions = data_str(data, "clear"), data_str(data, "versions")
    found: list[Clearing] = []
    for item in raw.split(";"):
        parts = item.split(".")
        if (
            len(parts) not in (2, 3)
            or parts[0] not in SECTION_KEYS
            or not parts[1]
            or (len(parts) == 3 and not (parts[2].isdecimal() and len(parts[2]) <= 3))
        ):
            raise BadRequest("The card's answers to clear are malformed.")
        found.append(Clearing(parts[0], parts[1], int(parts[2]) if len(parts) == 3 else None))
    checked: dict[str, int] = {}
    for item in versions.split(","):
        key, _, version = item.partition(":")
        if key not in SECTION_KEYS or not version.isdecimal() or len(version) > 9:
            raise BadRequest("The card's section versions are malformed.")
        checked[key] = int(version)
    return found, checked
