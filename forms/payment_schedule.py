"""The end-of-term Pupil Premium Plus payment schedule as a readable Word document.

Built as WordprocessingML strings (like the PEP forms): thousands of rows in well under
a second, where python-docx's table API is quadratic. The same schedule gives the same
bytes: the document's dates are the freeze time, and the zip has fixed timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime

from forms import wordml
from forms.layout import SENSITIVITY
from forms.package import build_docx, core_xml, custom_xml
from forms.wordml import BOLD, cell, row, runs, table_start, text_para
from pep_model.money import format_pence
from pep_model.pupil_premium import PaymentSchedule, ScheduleLine
from pep_model.terms import Term

TITLE = "Pupil Premium Plus payment schedule"
FORM_KIND = "pp_schedule"
_UNFROZEN = datetime(2000, 1, 1, tzinfo=UTC)
_WIDTHS = wordml.column_widths([2.2, 4.2, 1.2, 1.8])
_SUMMARY_WIDTHS = wordml.column_widths([3.0, 5.0])


def _cells(values: tuple[str, ...], bold: bool = False, fill: str = "") -> str:
    rpr = BOLD if bold else ""
    return "".join(
        cell(w, wordml.para(runs(v, rpr), "CellText"), fill)
        for w, v in zip(_WIDTHS, values, strict=True)
    )


def _lines_table(lines: tuple[ScheduleLine, ...], total_label: str, total_pence: int) -> str:
    out = [
        table_start(_WIDTHS),
        wordml.header_row(_WIDTHS, ["School URN", "LCS id", "Requests", "Amount"]),
    ]
    for line in lines:
        out.append(
            row(
                _cells(
                    (line.school_urn, line.child_id, str(line.requests), format_pence(line.pence))
                )
            )
        )
    out.append(
        row(
            _cells(
                (total_label, "", str(sum(x.requests for x in lines)), format_pence(total_pence)),
                bold=True,
                fill=wordml.LABEL_FILL,
            )
        )
    )
    out.append(wordml.TABLE_END)
    return "".join(out)


def _summary(schedule: PaymentSchedule, term: Term) -> str:
    status = (
        f"Exported and frozen on {schedule.frozen_at.strftime('%d/%m/%Y at %H:%M')} "
        "UTC: this schedule no longer changes"
        if schedule.frozen_at
        else "Preview: not exported yet, approvals may still change it"
    )
    children = len({(line.school_urn, line.child_id) for line in schedule.lines})
    rows = [
        ("Term", term.label),
        ("Status", status),
        ("Schools", str(len(schedule.schools))),
        ("Children", str(children)),
        ("Approved requests paid", str(sum(s.requests for s in schedule.schools))),
        ("Total to pay", format_pence(schedule.total_pence)),
        (
            "Held: PEP not finalised",
            f"{format_pence(schedule.held_pence)} ({len(schedule.held)} children)",
        ),
    ]
    if schedule.late:
        rows.append(
            (
                "Approved after the freeze",
                f"{len(schedule.late)} request(s), paid in the next term's schedule",
            )
        )
    out = [table_start(_SUMMARY_WIDTHS)]
    for label, value in rows:
        out.append(
            row(
                wordml.label_cell(_SUMMARY_WIDTHS[0], label)
                + cell(_SUMMARY_WIDTHS[1], text_para(value, "CellText"))
            )
        )
    out.append(wordml.TABLE_END)
    return "".join(out)


def document_xml(schedule: PaymentSchedule, term: Term, authority_name: str) -> str:
    by_school: dict[str, list[ScheduleLine]] = {}
    for line in schedule.lines:
        by_school.setdefault(line.school_urn, []).append(line)
    out = [
        wordml.DOCUMENT_START,
        text_para(TITLE, "Title"),
        text_para(f"{term.label} · {authority_name}", "Subtitle"),
        _summary(schedule, term),
        text_para("Payments by school", "Heading1"),
        text_para(
            "One line per child (LCS id) with the approved Pupil Premium Plus "
            "for the term, then the school's total. Amounts are exact to the "
            "penny; the CSV for finance has the same figures.",
            "Guidance",
        ),
    ]
    for school in schedule.schools:
        out.append(text_para(f"{school.school_name} (URN {school.school_urn})", "Heading2"))
        out.append(_lines_table(tuple(by_school[school.school_urn]), "School total", school.pence))
    if not schedule.schools:
        out.append(text_para("No approved Pupil Premium Plus is to be paid this term.", "Note"))
    out.append(text_para(f"Total to pay: {format_pence(schedule.total_pence)}", "Heading1"))
    if schedule.held:
        out.append(text_para("Held: approved, not paid", "Heading1"))
        out.append(
            text_para(
                "The PEP is not finalised yet. These approvals pass to the "
                "next term's schedule and are paid once the PEP is finalised.",
                "Guidance",
            )
        )
        out.append(_lines_table(schedule.held, "Held total", schedule.held_pence))
    out.append(text_para(f"Produced by PEP Companion for {authority_name}.", "Guidance"))
    out.append(wordml.DOCUMENT_END)
    return "".join(out)


def render_payment_schedule(schedule: PaymentSchedule, term: Term, authority_name: str) -> bytes:
    """pupil_premium_service.ScheduleDocument: the schedule as a .docx for people."""
    when = schedule.frozen_at or _UNFROZEN
    return build_docx(
        document_xml(schedule, term, authority_name),
        wordml.header_xml(SENSITIVITY),
        wordml.footer_xml(f"{TITLE} · {term.label}"),
        core_xml(TITLE, term.label, authority_name, f"pp-schedule-{term.id}", when),
        custom_xml({"Form": FORM_KIND, "TermId": term.id}),
    )
