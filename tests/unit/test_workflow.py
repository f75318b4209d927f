"""Which status moves are legal, and the right each one needs."""

from __future__ import annotations

import itertools

import pytest

from pep_model.access import Capability
from pep_model.errors import AlreadyDone, IllegalTransition, NotAllowed
from pep_model.workflow import (
    EDITABLE_BEFORE,
    EDITABLE_MEETING,
    MOVES,
    STATUS_LABELS,
    PepStatus,
    already,
    check_move,
    is_before_meeting,
)

S = PepStatus
ILLEGAL = [m for m in itertools.product(PepStatus, PepStatus) if m not in MOVES]


@pytest.mark.parametrize(("move", "needed"), MOVES.items(), ids=lambda v: str(v))
def test_every_legal_move_is_allowed_with_its_capability(
    move: tuple[PepStatus, PepStatus], needed: Capability
) -> None:
    check_move(*move, frozenset({needed}))


@pytest.mark.parametrize(("move", "needed"), MOVES.items(), ids=lambda v: str(v))
def test_a_legal_move_without_its_capability_is_not_allowed(
    move: tuple[PepStatus, PepStatus], needed: Capability
) -> None:
    with pytest.raises(NotAllowed) as caught:
        check_move(*move, frozenset(Capability) - {needed})
    assert f"to '{move[1].label}' is for " in str(caught.value)
    assert f"'{needed.value}'" not in str(caught.value)  # no internal name of a right


@pytest.mark.parametrize(
    "move", [m for m in ILLEGAL if m[0] != m[1]], ids=lambda m: f"{m[0]}->{m[1]}"
)
def test_an_illegal_move_names_both_statuses_in_words(move: tuple[PepStatus, PepStatus]) -> None:
    current, target = move
    with pytest.raises(IllegalTransition) as caught:
        check_move(current, target, frozenset(Capability))
    assert not isinstance(caught.value, AlreadyDone)
    assert f"'{current.label}' cannot move to '{target.label}'" in str(caught.value)
    assert "_" not in str(caught.value)  # never 'awaiting_return'


@pytest.mark.parametrize("status", PepStatus)
def test_a_move_to_where_the_pep_already_is_says_so_in_words(status: PepStatus) -> None:
    with pytest.raises(AlreadyDone) as caught:
        check_move(status, status, frozenset(Capability))
    assert str(caught.value) == already(status)
    assert "cannot move" not in str(caught.value) and "_" not in str(caught.value)


def test_finish_pressed_twice_is_already_finished() -> None:
    with pytest.raises(AlreadyDone, match=r"^This PEP meeting is already finished\.$"):
        check_move(S.AWAITING_RETURN, S.AWAITING_RETURN, frozenset(Capability))


def test_the_meeting_is_led_from_any_status_before_it() -> None:
    before = [s for s in PepStatus if is_before_meeting(s)]
    assert before == [S.DRAFT, S.PACK_SENT, S.IN_PROGRESS, S.READY_FOR_MEETING]
    assert all(MOVES[(s, S.IN_MEETING)] is Capability.LEAD_MEETING for s in before)


def test_the_happy_path_runs_from_draft_to_finalised() -> None:
    path = [
        S.DRAFT,
        S.PACK_SENT,
        S.IN_PROGRESS,
        S.READY_FOR_MEETING,
        S.IN_MEETING,
        S.AWAITING_RETURN,
        S.RETURNED,
        S.IN_QA,
        S.FINALISED,
    ]
    for current, target in itertools.pairwise(path):
        check_move(current, target, frozenset(Capability))


def test_amendments_go_back_through_return_and_qa() -> None:
    for current, target in [
        (S.IN_QA, S.AMENDMENTS_REQUESTED),
        (S.AMENDMENTS_REQUESTED, S.RETURNED),
        (S.RETURNED, S.IN_QA),
    ]:
        check_move(current, target, frozenset(Capability))


def test_a_finalised_pep_goes_nowhere() -> None:
    assert not [m for m in MOVES if m[0] is S.FINALISED]


def test_meeting_sections_are_editable_only_from_the_meeting_on() -> None:
    assert {S.IN_MEETING, S.AWAITING_RETURN, S.AMENDMENTS_REQUESTED} == EDITABLE_MEETING
    assert EDITABLE_MEETING < EDITABLE_BEFORE
    assert not EDITABLE_BEFORE & {S.RETURNED, S.IN_QA, S.FINALISED}


def test_every_status_has_a_label() -> None:
    assert set(STATUS_LABELS) == set(PepStatus)
    assert S.AWAITING_RETURN.label == "Awaiting return"
