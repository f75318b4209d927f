"""The Microsoft 365 cards: valid Adaptive Card 1.5 (schema), errors beside their fields,
typing kept, ids only in the Virtual School's channel. (The JS renderer runs over the
same variants in tests/integration/test_scheduling_cards_render.py.)"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from cards import scheduling as sc
from pep_model.access import Actor
from pep_model.errors import FieldError
from pep_model.meetings import FORM, ScheduleRequest, attendee_key
from pep_model.overview import OverdueReturn
from pep_model.scheduling import SchedulePlan, SchedulingService
from pep_model.services import PepService
from tests.support.card_check import schema_errors
from tests.support.teams import actions, card_text, inputs
from tests.unit.builders import make_child
from tests.unit.conftest import CARER, DT

WHEN = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


@pytest.fixture
async def plan(service: PepService, sw: Actor) -> SchedulePlan:
    return await SchedulingService(service).plan(sw, "LCS100001")


def variants(plan: SchedulePlan) -> dict[str, dict[str, Any]]:
    typed = ScheduleRequest(
        "LCS100001",
        "2026-11-02",
        "14:00",
        "45",
        frozenset({attendee_key(CARER.email)}),
        "x@example.org, nope",
    )
    errors = [
        FieldError(FORM, "date", "the meeting must be in the future"),
        FieldError(FORM, "extra", "not an email address: nope"),
    ]
    return {
        "chooser": sc.schedule_chooser_card([make_child("LCS100001"), make_child("LCS100002", 4)]),
        "chooser-empty": sc.schedule_chooser_card([]),
        "form": sc.schedule_form_card(plan),
        "form-errors": sc.schedule_form_card(plan, typed=typed, errors=errors),
        "form-warnings": sc.schedule_form_card(
            plan, typed=typed, warnings=["19:00 to 20:00 is outside"]
        ),
        "scheduled": sc.meeting_scheduled_card(
            child_id="LCS100001",
            initials="AF",
            school="Northvale Academy",
            starts_at=WHEN,
            minutes=60,
            attendees=["Harriet Pemberton"],
            join_url="https://teams.invalid/l/meetup-join/x",
            sent=True,
        ),
        "on-their-way": sc.meeting_scheduled_card(
            child_id="LCS100001",
            initials="AF",
            school="Northvale Academy",
            starts_at=WHEN,
            minutes=60,
            attendees=[],
            join_url="",
            sent=False,
            rescheduled=True,
        ),
        "cancelled": sc.meeting_cancelled_card(child_id="LCS100001", initials="AF", starts_at=WHEN),
        "vs-alert": sc.virtual_school_alert_card(
            pep_id="LCS100001-2026-autumn",
            child_id="LCS100001",
            school="Northvale Academy",
            starts_at=WHEN,
            minutes=60,
            reasons=["starting Year 7, a new phase"],
            join_url="https://teams.invalid/j",
            attending=["Bethan Carrow"],
            notice="ok",
        ),
        "vs-unscheduled": sc.virtual_school_unscheduled_card(
            child_id="LCS100001",
            school="Northvale Academy",
            term_label="Autumn term 2026",
            school_days=10,
            reasons=["flagged as a transition case"],
        ),
        "overdue": sc.overdue_returns_card(
            [OverdueReturn("LCS100001", "100001", date(2026, 11, 10), 6)],
            date(2026, 11, 16),
            {"100001": "Northvale Academy"},
        ),
        "overdue-none": sc.overdue_returns_card([], date(2026, 11, 16), {}),
        "return": sc.return_card(
            pep_id="LCS100001-2026-autumn",
            version=7,
            initials="AF",
            child_id="LCS100001",
            term_label="Autumn term 2026",
            held_on=date(2026, 11, 13),
            due=date(2026, 11, 18),
            status_label="Awaiting return",
            returned=False,
            reminder_day=3,
        ),
        "returned": sc.return_card(
            pep_id="LCS100001-2026-autumn",
            version=8,
            initials="AF",
            child_id="LCS100001",
            term_label="Autumn term 2026",
            held_on=None,
            due=None,
            status_label="Returned",
            returned=True,
            notice="Sent.",
        ),
        "term-pack": sc.term_pack_card("Spring term 2027", "dt@school.sch.example"),
        "failed": sc.delivery_failed_card(
            "sending an email", "term-pack:x", 404, "The user does not exist"
        ),
    }


async def test_every_card_is_valid(plan: SchedulePlan) -> None:
    for name, card in variants(plan).items():
        assert schema_errors(card) == [], name


async def test_the_form_prefills_and_keeps_typing(plan: SchedulePlan) -> None:
    fresh = inputs(sc.schedule_form_card(plan))
    assert fresh[sc.INVITE + attendee_key(DT.email)] == "true"
    assert fresh[sc.DURATION] == "60" and not fresh.get(sc.DATE)
    card = variants(plan)["form-errors"]
    typed = inputs(card)
    assert typed[sc.DATE] == "2026-11-02" and typed[sc.DURATION] == "45"
    assert typed[sc.INVITE + attendee_key(DT.email)] == "false"
    assert typed[sc.EXTRA] == "x@example.org, nope"
    body = card["body"]
    date_at = next(i for i, e in enumerate(body) if e.get("id") == sc.DATE)
    assert "in the future" in body[date_at + 1]["text"], "the error sits under its field"
    submit = actions(card, sc.SCHEDULE_SUBMIT)[0]
    assert submit["data"] == {"child_id": "LCS100001"}


async def test_warnings_offer_send_anyway(plan: SchedulePlan) -> None:
    card = variants(plan)["form-warnings"]
    [anyway] = actions(card, sc.SCHEDULE_SUBMIT)
    assert anyway["title"] == "Send anyway" and anyway["data"]["accept"] == "true"


async def test_channel_cards_carry_ids_not_names(plan: SchedulePlan) -> None:
    for name in ("vs-alert", "vs-unscheduled", "overdue"):
        text = json.dumps(variants(plan)[name])
        assert "LCS100001" in text
        assert "Fenwick" not in text and "2015-05-01" not in text, name
    alert = variants(plan)["vs-alert"]
    assert actions(alert, sc.VS_ATTEND)[0]["data"] == {"pep_id": "LCS100001-2026-autumn"}
    assert "Bethan Carrow attending" in card_text(alert)


async def test_return_card_button_only_until_returned(plan: SchedulePlan) -> None:
    cards = variants(plan)
    assert actions(cards["return"], sc.RETURN_SEND)[0]["data"] == {
        "pep_id": "LCS100001-2026-autumn",
        "version": 7,
    }
    assert "Reminder" in card_text(cards["return"])
    assert not actions(cards["returned"], sc.RETURN_SEND)
