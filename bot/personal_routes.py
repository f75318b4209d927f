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
from cards.walkthrough import NAV_INPUT
from forms.read_back import NotAPepForm, read_form, to_content
from pep_model.access import Actor, Capability
from pep_model.errors import ConflictError, FieldError, NotAllowed, NotFound
from pep_model.pep import pep_id_for
from pep_model.sections import SECTION_KEYS, raw_from_content
from pep_model.services import PepService, PepView

log = logging.getLogger(__name__)

SaveTyped = Callable[[Turn, Actor, Mapping[str, Any]], Awaitable[Reply | None]]
Download = Callable[[str], Awaitable[bytes]]
Upload = Callable[[str, bytes], Awaitable[None]]
RecordFile = Callable[[str], Awaitable[tuple[str, bytes]]]  # pep id -> (name, bytes)


class PersonalRoutes:
    def __init__(self, service: PepService, save_typed: SaveTyped, download: Download,
                 upload: Upload, record_file: RecordFile) -> None:
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
            return Reply(messages=[Outgoing(card=cards.message_card(
                "No PEPs", "You are not assigned to any child's PEP this term."))])
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
            return Reply(messages=[Outgoing(card=cards.message_card(
                "Which child?", "Type 'open' and the child's LCS id, e.g. 'open LCS100001', "
                "or type 'my peps' and press Open beside the child."))])
        return Reply(messages=[Outgoing(card=await self._open_card(actor, child_id))])

    async def _open_card(self, actor: Actor, child_id: str) -> dict[str, Any]:
        try:
            view = await self.service.pep_or_preview(child_id, self.service.current_term_id(),
                                                     actor)
        except NotAllowed:  # the same answer whether the child exists or not
            return cards.message_card(
                "No PEP found", f"I can't find a child with the LCS id {child_id} whose PEP "
                "you work on. Check the id, or type 'my peps' to see your children's PEPs.",
                style="attention")
        return self._section_card(view, actor, _first_gap(view))

    def _section_card(self, view: PepView, actor: Actor, key: str,
                      **extra: Any) -> dict[str, Any]:
        """The section editable, or read-only for whoever cannot change it now."""
        if view.editable_by(actor, key):
            return cards.section_edit_card(view, key, **extra)
        return cards.section_edit_card(view, key, notice=extra.get("notice", ""),
                                       read_only=True)

    async def _view(self, actor: Actor, data: Mapping[str, Any]) -> PepView:
        """The PEP a card names; one nobody has opened yet is opened (or previewed) for
        the child the card carries."""
        pep_id = data_str(data, "pep_id")
        try:
            return await self.service.get(pep_id, actor)
        except NotFound:
            child_id = data.get("child_id")
            if not isinstance(child_id, str) or pep_id_for(
                    child_id, self.service.current_term_id()) != pep_id:
                raise
            return await self.service.pep_or_preview(child_id,
                                                     self.service.current_term_id(), actor)

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

    async def upload(self, turn: Turn, actor: Actor) -> Reply:
        replies = Reply()
        for attachment in turn.attachments:
            if attachment.get("contentType") != FILE_DOWNLOAD:
                continue
            name = str(attachment.get("name") or "the file")
            content = attachment.get("content") or {}
            url = content.get("downloadUrl") if isinstance(content, Mapping) else None
            if not name.lower().endswith(".docx") or not isinstance(url, str):
                replies.messages.append(Outgoing(card=cards.message_card(
                    "Not a Word form", f"{name} is not a .docx file. Send the PEP form "
                    "as a Word document.", style="attention")))
                continue
            replies.messages.append(Outgoing(card=await self._read_upload(actor, name, url)))
        return replies

    async def _read_upload(self, actor: Actor, name: str, url: str) -> dict[str, Any]:
        try:
            data = await self.download(url)
            reading = read_form(data)
        except NotAPepForm as exc:
            return cards.message_card("Not a PEP form", f"{name}: {exc}", style="attention")
        except FileTooLarge as exc:  # sending it again would not help: say why
            mb = 1024 * 1024  # the limit rounded down, the size up, to 0.1 MB
            limit = f"{exc.limit * 10 // mb / 10:g} MB"
            size = f"is {-(-exc.size * 10 // mb) / 10:g} MB" if exc.size \
                else "is larger than that"
            log.info("refused an uploaded form of %s bytes", exc.size or "too many")
            return cards.message_card(
                "File too large", f"PEP forms up to {limit} can be read; {name} {size}. "
                "Make it smaller (for example, remove pictures or save it without them) "
                "and send it again.", style="attention")
        except Exception as exc:  # a download that failed: say so, keep nothing
            log.warning("could not fetch an uploaded form: %s", type(exc).__name__)
            return cards.message_card("Could not read the file",
                                      f"I could not download {name}. Please send it again.",
                                      style="attention")
        contents, errors = to_content(reading)
        pep_id = pep_id_for(reading.child_id, reading.term_id)
        try:
            view = await self.service.get(pep_id, actor, Capability.EDIT)
        except NotFound:
            return cards.message_card("Unknown PEP", f"{name} is for a PEP I do not hold "
                                      f"({reading.child_id}, {reading.term_id}).",
                                      style="attention")
        bad_sections = {e.section for e in errors}
        saved, problems = [], list(errors)
        for key in SECTION_KEYS:
            if key not in contents or key in bad_sections:
                continue
            if contents[key] == view.pep.sections.get(key):
                continue
            try:
                outcome = await self.service.record_section(
                    pep_id, key, raw_from_content(key, contents[key]), actor,
                    view.pep.version)
            except (ConflictError, NotAllowed) as exc:
                problems.append(FieldError(key, "section", str(exc)))
                continue
            problems.extend(outcome.errors)
            if outcome.saved:
                view = self.service.view(outcome.pep, outcome.child)
                if outcome.changed:
                    saved.append(key)
        return cards.upload_result_card(view.child.initials, view.child.lcs_id, saved,
                                        problems)

    # ---- the record file (Teams file consent) --------------------------------------

    async def file_consent(self, turn: Turn, actor: Actor) -> Reply:
        value = turn.value if isinstance(turn.value, Mapping) else {}
        context = value.get("context") or {}
        pep_id = context.get("pep_id") if isinstance(context, Mapping) else None
        if not isinstance(pep_id, str):
            raise BadRequest("The file offer did not say which PEP.")
        await self.service.get(pep_id, actor, Capability.LEAD_MEETING)
        if value.get("action") != "accept":
            return Reply(messages=[Outgoing(text="All right, I haven't saved the PEP record. "
                                            "Type 'my peps' to find it again.")])
        upload_address(value)  # no address: nothing to make
        name, content = await self.record_file(pep_id)
        return await save_accepted(self.upload_file, value, name, content)


def record_offer(name: str, size: int, pep_id: str) -> dict[str, Any]:
    """The meeting's record offered to the PEP lead in personal chat."""
    return file_offer(name, size, {"pep_id": pep_id}, "The PEP record from the meeting")


def _first_gap(view: PepView) -> str:
    return view.problems[0].section if view.problems else SECTION_KEYS[0]
