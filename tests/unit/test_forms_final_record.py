"""The final record: every section with display values, no boxes to fill."""

from __future__ import annotations

import io
from datetime import date

import docx

from forms.final_record import render_final_record
from pep_model.returns import FinalisedFacts, PupilPremiumLine
from pep_model.rules import attendance_percentage
from pep_model.sections import SECTIONS, display_value
from pep_model.workflow import PepStatus
from tests.unit.forms_fixtures import (
    W,
    after_meeting,
    all_text,
    document,
    every_field_content,
    part,
)


def test_every_section_and_value_is_shown_readably() -> None:
    content = every_field_content()
    record = render_final_record(after_meeting(content))
    text = all_text(record)
    for spec in SECTIONS:
        assert spec.title in text
        values = [(f, content[spec.key].get(f.name)) for f in spec.fields]
        values += [
            (f, row.get(f.name))
            for row in content[spec.key].get("rows", [])
            for f in spec.row_fields
        ]
        for f, value in values:
            shown = display_value(f, value)
            for line in shown.split("\n"):
                assert line.replace("\t", "") in text.replace("\t", ""), (spec.key, f.name)
    pct = attendance_percentage(content["attendance"])
    assert f"{pct}%" in text
    for expected in (
        "14/10/2026",
        "The meeting record",
        "LCS204817",
        "Jordan Ellis",
        "Northvale County Council",
    ):
        assert expected in text, expected


def test_the_record_prints_no_internal_status_and_no_form_instructions() -> None:
    data = after_meeting(every_field_content())
    text = all_text(render_final_record(data))
    assert data.pep.status.label not in text and "PEP status" not in text
    assert "Return due" not in text
    for spec in SECTIONS:
        if spec.guidance:
            assert spec.guidance not in text, spec.key
    assert "version to file" not in text  # not until it is finalised


def test_the_record_has_no_boxes_and_says_what_is_not_recorded() -> None:
    record = render_final_record(
        after_meeting(
            {
                "attendance": {
                    "possible_sessions": 100,
                    "attended_sessions": 90,
                    "unauthorised_sessions": 2,
                }
            }
        )
    )
    assert document(record).find(f".//{W}sdt") is None
    text = all_text(record)
    assert "90.0% (below the 95% threshold)" in text
    assert "Not recorded" in text and "No targets recorded." in text
    custom = part(record, "docProps/custom.xml").decode()
    assert "final_record" in custom and "LCS204817-2026-autumn" in custom
    props = docx.Document(io.BytesIO(record)).core_properties
    assert "Jordan" not in props.title + props.subject


def test_the_finalised_record_has_its_grade_and_pp_decisions_and_is_the_one_to_file() -> None:
    data = after_meeting(every_field_content(rows=8))
    data.pep.status = PepStatus.FINALISED
    data.pep.meeting_held_on = date(2026, 10, 14)
    facts = FinalisedFacts(
        date(2026, 11, 2),
        "Green",
        2,
        (
            PupilPremiumLine("Reading tutor", "£300.00", "Approved £250.00: the rest next term"),
            PupilPremiumLine("Laptop", "£200.00", "Declined: the school provides one"),
        ),
    )
    record = render_final_record(data, facts)
    text = all_text(record)
    for expected in (
        "finalised record",
        "this is the version to file",
        "02/11/2026",
        "Quality assurance grade",
        "Green",
        "Pupil Premium Plus decisions",
        "Reading tutor",
        "Approved £250.00: the rest next term",
        "Declined: the school provides one",
    ):
        assert expected in text, expected
    assert PepStatus.FINALISED.label + "\n" not in text  # no status row
    props = docx.Document(io.BytesIO(record)).core_properties
    assert props.title == "Personal Education Plan: finalised record"
