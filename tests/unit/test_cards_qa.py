"""QA, PP+ and overview cards: Adaptive Card 1.5 schema, size, what they show and what
their actions carry."""

from __future__ import annotations

import json

import pytest

from cards.elements import CARD_BUDGET, card_bytes
from cards.pupil_premium import PP_APPROVE_AMOUNT, PP_DECLINE, decision_from_card_data
from cards.quality import (
    FEEDBACK,
    NOT_GRADED,
    QA_APPROVE,
    grades_from_card_data,
    override_from_card_data,
    qa_card,
)
from pep_model.errors import ValidationFailed
from pep_model.pupil_premium import DecisionKind
from pep_model.workflow import PepStatus
from tests.support.card_check import schema_errors
from tests.support.teams import actions, card_text, inputs
from tests.unit.qa_card_fixtures import all_variants, huge_pep, review

VARIANTS = all_variants()


@pytest.mark.parametrize("name", [name for name, _ in VARIANTS])
def test_every_card_is_valid_adaptive_card_1_5(name: str) -> None:
    card = dict(VARIANTS)[name]
    assert schema_errors(card) == []
    assert card["version"] == "1.5"
    assert card_bytes(card) <= CARD_BUDGET


def test_cards_name_children_by_initials_and_lcs_id_only() -> None:
    for name, card in VARIANTS:
        text = json.dumps(card)
        assert "Amara" not in text and "Okafor" not in text, name
        assert "2014-03" not in text, name  # no date of birth


def test_the_qa_card_grades_every_section_with_suggestions_filled_in() -> None:
    card = qa_card(review())
    values = inputs(card)
    assert values["g.voice"] == "green"
    assert values["g.send"] == NOT_GRADED  # no check for SEND: the coordinator decides
    assert values["qa.override"] == NOT_GRADED
    data = actions(card, QA_APPROVE)[0]["data"]
    assert data == {"pep_id": "LCS100001-2026-autumn", "version": 7, "round": 1}
    assert "Worked out from the section grades: Green" in card_text(card)


def test_a_huge_pep_still_fits_with_every_grade_input() -> None:
    card = qa_card(review(pep=huge_pep()))
    assert card_bytes(card) <= CARD_BUDGET
    assert len([k for k in inputs(card) if k.startswith("g.")]) == 15


def test_a_decided_pep_has_no_inputs_or_decision() -> None:
    card = qa_card(review(status=PepStatus.FINALISED))
    assert not inputs(card) and not actions(card, QA_APPROVE)
    assert "nothing to decide" in card_text(card)


def test_reading_the_qa_card_data() -> None:
    data = {"g.voice": "gold", "g.send": NOT_GRADED, "g.carer": " Green ", "qa.override": "-",
            FEEDBACK: " fine ", "pep_id": "x"}
    assert grades_from_card_data(data) == {"voice": "gold", "send": "", "carer": "Green"}
    assert override_from_card_data(data) is None
    assert override_from_card_data({"qa.override": "red"}) == "red"


def test_reading_the_pp_card_data() -> None:
    approve = decision_from_card_data(PP_APPROVE_AMOUNT, {"pp.amount": "£1,250.50",
                                                          "pp.reason": " rate "}, 0)
    assert (approve.kind, approve.amount_pence, approve.reason) == \
        (DecisionKind.APPROVE_AMOUNT, 125_050, "rate")
    decline = decision_from_card_data(PP_DECLINE, {"pp.reason": "Funded"}, 0)
    assert (decline.kind, decline.reason) == (DecisionKind.DECLINE, "Funded")
    with pytest.raises(ValidationFailed) as bad:
        decision_from_card_data(PP_APPROVE_AMOUNT, {"pp.amount": "12.345"}, 2)
    assert [(e.field, e.row) for e in bad.value.errors] == [("amount", 2)]
