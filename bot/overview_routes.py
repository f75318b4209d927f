"""The Virtual School's overview of a term in Teams (the `overview` command, its CSV
offered as a file) and the card of the weekly digest for the Virtual School Head."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.after_meeting import AfterMeeting
from bot.card_data import data_str
from bot.files import file_offer
from bot.turn import CardHandler, Outgoing, Reply, Turn
from cards.messages import message_card
from cards.overview import OVERVIEW, OVERVIEW_EXPORT, overview_card
from pep_model.access import SYSTEM, Actor

log = logging.getLogger(__name__)

REPORT_OVERVIEW_CSV = "overview_csv"
REPORTS = (REPORT_OVERVIEW_CSV,)


def overview_csv_name(term_id: str) -> str:
    return f"pep-overview-{term_id}.csv"


class OverviewRoutes:
    def __init__(self, services: AfterMeeting) -> None:
        self.overview = services.overview

    def verbs(self) -> dict[str, CardHandler]:
        return {OVERVIEW: self.overview_open, OVERVIEW_EXPORT: self.overview_export}

    async def overview_open(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        term_id = str(data.get("term_id") or "") or None
        overview = await self.overview.overview(actor, term_id)
        term = self.overview.term(overview.term_id)
        return Reply(invoke_card=overview_card(overview, term.label, self.overview.scale))

    async def overview_export(self, turn: Turn, actor: Actor, data: Mapping[str, Any]) -> Reply:
        term_id = data_str(data, "term_id")
        content = (await self.overview.report_csv(term_id, actor)).encode("utf-8")
        to = "" if turn.personal else turn.user_id
        offer = Outgoing(
            attachment=file_offer(
                overview_csv_name(term_id),
                len(content),
                {"term_id": term_id, "report": REPORT_OVERVIEW_CSV},
                "PEP overview (CSV)",
            ),
            to_user_id=to,
        )
        return Reply(
            invoke_card=message_card("Overview CSV", "The file is offered to you below."),
            messages=[offer],
        )

    async def file(self, report: str, term_id: str, actor: Actor) -> tuple[str, bytes]:
        """The overview CSV, when its offer is accepted."""
        return (
            overview_csv_name(term_id),
            (await self.overview.report_csv(term_id, actor)).encode("utf-8"),
        )

    # ---- the weekly digest ----------------------------------------------------------

    async def digest_card(self) -> dict[str, Any]:
        """This term's overview, as the weekly digest shows it."""
        overview = await self.overview.overview(SYSTEM)
        term = self.overview.term(overview.term_id)
        return overview_card(overview, term.label, self.overview.scale, digest=True)
