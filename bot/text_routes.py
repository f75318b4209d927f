""" "Show all": one answer of a section shortened to fit its card, in full, and back.

In a one-to-one chat the person must be allowed to read the whole PEP (VIEW). In a
meeting chat the meeting's viewer rule applies, as for the walkthrough card itself
(MeetingRoutes.card_for): only the section on screen of the walkthrough running in this
chat, and only for people working with the child (the answer is seen by the person who
pressed the button alone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.card_data import BadRequest, data_section, data_str
from bot.commands import Where, answers
from bot.meeting_routes import MeetingRoutes, _live_here, _not_running_card
from bot.turn import CardHandler, Reply, Turn
from cards.elements import SHOW_TEXT
from cards.full_text import NoSuchAnswer, full_text_card
from pep_model.access import SYSTEM, Actor, Capability
from pep_model.errors import NotFound
from pep_model.services import PepService

_INDEX = re.compile(r"[0-9]{1,4}")


class TextRoutes:
    def __init__(self, service: PepService, meeting: MeetingRoutes) -> None:
        self.service = service
        self.meeting = meeting

    def verbs(self) -> dict[str, CardHandler]:
        return {SHOW_TEXT: self.show_text}

    @answers(Where.ANYWHERE)
    async def show_text(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        pep_id = data_str(data, "pep_id")
        key = data_section(data)
        field = data.get("field")
        if field is not None and not isinstance(field, str):
            raise BadRequest("The card did not say which answer to show.")
        row, part = _index(data, "row"), _index(data, "part") or 0
        if turn.personal:
            view = await self.service.get(pep_id, actor, Capability.VIEW)
        else:
            view = await self.service.get(pep_id, SYSTEM)
            if not _live_here(view, turn):
                return Reply(invoke_card=_not_running_card(view.pep))
            if key != view.pep.current_section or not actor.can(
                Capability.VIEW_MEETING, view.child
            ):
                # a section the meeting has moved on from, or someone the PEP is not for:
                # what the meeting's card shows them now
                return Reply(invoke_card=self.meeting.card_for(view, actor))
        try:
            card = full_text_card(
                view, key, field=field, row=row, part=part, personal=turn.personal
            )
        except NoSuchAnswer:
            raise NotFound("That answer is no longer in this section of the PEP.") from None
        return Reply(invoke_card=card)


def _index(data: Mapping[str, Any], key: str) -> int | None:
    """A row or part number the card carries (from 0); None when it carries none."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not _INDEX.fullmatch(str(value)):
        raise BadRequest(f"The card's {key} is not a number.")
    return int(value)
