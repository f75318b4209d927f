"""Cards at the end of the meeting: finished, and the request for next term's date."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cards.elements import (
    Element,
    british,
    card,
    container,
    execute,
    facts,
    heading,
    notice_block,
    pep_data,
    problems_block,
    text,
)
from cards.fields import NOT_TYPED, field_block, index_errors
from cards.inputs import field_id
from cards.scheduling import RETURN_OPEN
from cards.walkthrough import FINISH, SAVE, meeting_header
from pep_model.errors import FieldError
from pep_model.sections import section_spec
from pep_model.services import PepView

NEXT_PEP = "next_pep"


def _next_pep_text(view: PepView) -> str:
    content = view.pep.section(NEXT_PEP)
    if content.get("date"):
        return british(content["date"])
    if content.get("reason"):
        return f"Not set: {content['reason']}"
    return "Not set"


def finished_card(view: PepView, record_filename: str, *, notice: str = "") -> dict[str, Any]:
    """The meeting is over: when the PEP must be returned, and the next PEP's date
    (notice: e.g. that it was finished already, for a second press of Finish)."""
    pep = view.pep
    attendees = len(pep.section("attendees").get("rows") or [])
    actions = len(pep.section("actions").get("rows") or [])
    pairs = [
        ("Meeting held", british(pep.meeting_held_on) or "Today"),
        ("Return the PEP by", british(pep.return_due) or "Not set"),
        ("Next PEP meeting", _next_pep_text(view)),
        ("Attendees recorded", str(attendees)),
        ("Actions agreed", str(actions)),
        ("Record", record_filename),
    ]
    body: list[Element] = [
        meeting_header(view),
        *notice_block(notice),
        container(
            [
                heading("PEP meeting finished"),
                text("Thank you. The meeting record is saved.", spacing="none"),
            ],
            style="good",
        ),
        facts(pairs),
    ]
    if pep.return_due:
        body.append(
            text(
                f"The school returns the completed PEP to Business Support by "
                f"{british(pep.return_due)}.",
                weight="bolder",
            )
        )
    return card(
        body,
        [execute("Send to Business Support", RETURN_OPEN, {"pep_id": pep.id}, style="positive")],
    )


def next_date_request_card(
    view: PepView,
    *,
    errors: Sequence[FieldError] = (),
    typed: Mapping[str, Any] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """The meeting cannot end without next term's PEP date, or a reason why not. Sent to
    the social worker and designated teacher when the meeting ended without it; Save
    keeps this card (with its Finish), and Finish saves what is typed first."""
    spec = section_spec(NEXT_PEP)
    content = view.pep.section(NEXT_PEP)
    body: list[Element] = [
        meeting_header(view),
        *notice_block(notice),
        heading("When is next term's PEP?"),
        text(
            "The meeting cannot finish until next term's PEP date is set. If no date can "
            "be agreed, say why.",
            spacing="none",
        ),
    ]
    index = index_errors(errors, NEXT_PEP)
    elsewhere = [e for e in errors if e.section != NEXT_PEP or e.field not in ("date", "reason")]
    if elsewhere:  # e.g. no summary yet: shown above, the date's own errors beside it
        body.append(problems_block("The meeting cannot finish yet:", elsewhere))
    for name in ("date", "reason"):
        f = spec.field(name)
        shown = typed.get(field_id(name), NOT_TYPED) if typed else NOT_TYPED
        body.extend(
            field_block(f, field_id(name), content.get(name), shown, index.get((None, name), []))
        )
    data = pep_data(view.pep, current=NEXT_PEP)
    return card(
        body,
        [
            execute("Save date", SAVE, {**data, "section": NEXT_PEP}, style="positive"),
            execute("Finish PEP meeting", FINISH, data),
        ],
    )
