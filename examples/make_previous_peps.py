#!/usr/bin/env python3
"""Generate the fictional "previous PEP" PDFs in examples/previous-peps/.

Each PDF imitates a finalised Summer term 2026 PEP exported from the authority's
social care system (Liquidlogic LCS style) for one child of examples/roster.csv.
Everything is fictional: Northvale County Council does not exist.

Stdlib only. Deterministic: the same roster gives byte-identical PDFs on every run
(no timestamps; CreationDate is the fixed, fictional finalisation date).

    python examples/make_previous_peps.py            # (re)write examples/previous-peps/
    python examples/make_previous_peps.py --out DIR  # write somewhere else

The PDFs are PDF 1.4, uncompressed, with the standard Helvetica and Helvetica-Bold
Type1 fonts in WinAnsiEncoding, one or two A4 pages, and a classic xref table.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROSTER = HERE / "roster.csv"
OUT_DIR = HERE / "previous-peps"

#: Children with no previous PEP PDF: newly looked after (placement from June 2026 on
#: under S20 or an interim order), so there was no finalised Summer term 2026 PEP.
NO_PREVIOUS_PEP = frozenset(
    {
        "LCS100004",
        "LCS100008",
        "LCS100016",
        "LCS100018",
        "LCS100026",
        "LCS100027",
        "LCS100031",
        "LCS100032",
        "LCS100034",
        "LCS100037",
    }
)

#: Children who changed school after the summer PEP: the PDF names the school they
#: were at then (school name, URN or "", designated teacher).
PREVIOUS_SCHOOL = {
    "LCS100014": ("Hartswell Primary School (Kingsreach Borough, out of area)", "", "Owen Pellow"),
    "LCS100025": ("Brackenfield Primary School", "999102", "Marcus Oyelaran"),
    "LCS100028": ("Eastmere Academy (Kingsreach Borough, out of area)", "", "Lorna Chidwick"),
    "LCS100038": ("Castlebridge High School", "999105", "Gareth Lindqvist"),
}

#: A PEP whose LCS id is not on the roster, to exercise "unmatched file" reporting.
UNMATCHED = {
    "lcs_id": "LCS999999",
    "first_name": "Xander",
    "last_name": "Yelland",
    "year_group": "Year 4",
    "school_urn": "999102",
    "school_name": "Brackenfield Primary School",
    "designated_teacher_name": "Marcus Oyelaran",
    "social_worker_name": "Rachel Donnelly",
    "legal_status": "S31 full care order",
    "placement_type": "foster",
    "sen_status": "none",
    "complex_case": "no",
    "transition": "no",
}

STRAY_NOTE = """\
Business Support working note (fictional sample data)

This file is deliberately left in examples/previous-peps/ to check that the
term-pack importer skips files that are not PDFs and reports them, instead of
failing. It is not a PEP and holds no child's information.
"""

YEAR_GROUPS = ["Nursery", "Reception"] + [f"Year {n}" for n in range(1, 14)]
SPECIAL_SCHOOL_URN = "999103"

# --------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------

HALF_TERM = "23/10/2026"
END_OF_TERM = "18/12/2026"

# (target, owner, by, measure); owner may contain {dt} (designated teacher) or {sw}.
TARGETS = {
    "early_years": [
        (
            "Join a small-group story session for 10 minutes, 3 times a week, with the key person",
            "Key person (nursery)",
            HALF_TERM,
            "Learning journal observations, reviewed fortnightly",
        ),
        (
            "Use 2- to 3-word phrases to ask an adult for help or for a toy",
            "Key person with the speech and language plan",
            END_OF_TERM,
            "Weekly communication tracker; 10 examples logged by the review",
        ),
        (
            "Settle at drop-off with a named adult within 10 minutes on 4 of 5 days",
            "Carer and key person",
            HALF_TERM,
            "Daily drop-off log kept by the setting",
        ),
        (
            "Make marks and hold a chunky crayon with a tripod grip in daily play",
            "Early Years teacher",
            END_OF_TERM,
            "Physical development observations in the learning journal",
        ),
    ],
    "primary": [
        (
            "Read aloud to an adult for 10 minutes at least 5 times a week "
            "and move up one book band",
            "Carer (home reading), class teacher (book band)",
            END_OF_TERM,
            "Reading record signed weekly; book band assessment in December",
        ),
        (
            "Know the 2, 5 and 10 times tables, scoring at least 18 out of 20 in the weekly check",
            "Class teacher",
            HALF_TERM,
            "Weekly times-table check results",
        ),
        (
            "Ask for a calm-down break using the agreed card instead of leaving the classroom",
            "Designated Teacher ({dt})",
            END_OF_TERM,
            "Behaviour log: incidents down from 6 to 2 or fewer a half term",
        ),
        (
            "Attend the lunchtime Lego club twice a week to build friendships",
            "Teaching assistant",
            HALF_TERM,
            "Club register and a pupil voice check-in at half term",
        ),
        (
            "Write 3 sentences independently using capital letters and full stops",
            "Class teacher",
            END_OF_TERM,
            "Independent writing samples compared with June 2026",
        ),
    ],
    "secondary": [
        (
            "Raise attendance to at least 95% by the end of the autumn half term",
            "Designated Teacher ({dt}) with the carer",
            HALF_TERM,
            "Attendance register checked weekly by the Designated Teacher",
        ),
        (
            "Hand in every maths homework on time through the online platform",
            "Form tutor",
            END_OF_TERM,
            "Homework platform report: 100% submitted",
        ),
        (
            "Attend 6 sessions of 1:1 English tuition (PP+ funded) "
            "and raise reading age by 6 months",
            "Designated Teacher ({dt})",
            END_OF_TERM,
            "Reading age test in September and December",
        ),
        (
            "Meet the school mentor weekly and agree one strategy for handling conflict",
            "Pastoral lead",
            HALF_TERM,
            "Mentor log; behaviour points down by half on last term",
        ),
        (
            "Complete a careers interview and name 2 post-16 courses of interest",
            "Careers adviser",
            END_OF_TERM,
            "Careers interview record and action plan on file",
        ),
    ],
    "post16": [
        (
            "Pass the Level 2 functional skills maths exam",
            "Personal tutor",
            END_OF_TERM,
            "Exam entry confirmed in October; result in the college tracker",
        ),
        (
            "Attend at least 95% of timetabled sessions",
            "Designated Person ({dt})",
            HALF_TERM,
            "College attendance report, reviewed fortnightly",
        ),
        (
            "Manage a weekly budget with the supported lodgings provider or carer",
            "Carer or supported lodgings provider",
            END_OF_TERM,
            "Monthly budget review signed by the young person",
        ),
        (
            "Submit 2 applications for an apprenticeship or higher education course",
            "Personal tutor with the social worker ({sw})",
            END_OF_TERM,
            "Copies of submitted applications",
        ),
    ],
    "special": [
        (
            "Use the visual timetable to move between activities independently on 4 of 5 days",
            "Class teacher",
            HALF_TERM,
            "Daily transition log (EHCP outcome 2)",
        ),
        (
            "Communicate needs with the communication book or device in 3 different settings",
            "Speech and language therapist and class team",
            END_OF_TERM,
            "Communication log across classroom, lunch hall and home",
        ),
        (
            "Complete the independent travel training route to school with a trainer shadowing",
            "Independent travel trainer",
            END_OF_TERM,
            "Travel training record: 5 shadowed journeys",
        ),
        (
            "Use the agreed regulation strategy before an incident escalates",
            "Designated Teacher ({dt})",
            HALF_TERM,
            "Incident log: physical interventions down on last term",
        ),
    ],
}

TRANSITION_TARGET = {
    "LCS100025": (
        "Attend 3 transition visits to Northvale Moor Academy before the summer holiday",
        "Designated Teacher ({dt}) and Year 7 transition lead",
        "17/07/2026",
        "Visit register; pupil voice after each visit",
    ),
    "LCS100038": (
        "Enrol at Wrenfield Sixth Form College and attend the July taster day",
        "Designated Teacher ({dt}) with the social worker ({sw})",
        "10/09/2026",
        "Enrolment confirmed by the college",
    ),
}

SUMMARIES = [
    "Settled term. Child's voice gathered before the meeting. "
    "Targets reviewed and new ones agreed.",
    "Good progress this term. Attendance discussed with the carer; support in place.",
    "Some difficult weeks after contact changes; school and carer agreed a shared approach.",
    "Child attended part of the meeting and shared their views, "
    "recorded in the child's voice section.",
]

REVIEWS = [
    "Spring term 2026 targets: 2 met, 1 partly met (evidence on the school file)",
    "Spring term 2026 targets: 3 met (evidence on the school file)",
    "Spring term 2026 targets: 1 met, 1 partly met, 1 not met (carried forward)",
]


@dataclass(frozen=True)
class Pep:
    lcs_id: str
    initials: str
    form: str
    year_group: str
    school: str
    urn: str
    designated_teacher: str
    social_worker: str
    legal_status: str
    placement_type: str
    sen_status: str
    meeting: dt.date
    finalised: dt.date
    next_pep: dt.date
    attendance: float
    missed: int
    unauthorised: int
    review: str
    targets: tuple[tuple[str, str, str, str], ...]
    summary: str
    pp_plus: str


def add_school_days(day: dt.date, n: int) -> dt.date:
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def weekday_on_or_after(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def short_name(full: str) -> str:
    first, _, rest = full.partition(" ")
    return f"{first[0]}. {rest}" if rest else full


def build(row: dict[str, str], index: int) -> Pep:
    lcs_id = row["lcs_id"]
    n = int(lcs_id[3:]) % 1000
    now_year = YEAR_GROUPS.index(row["year_group"])
    prev_year = YEAR_GROUPS[now_year - 1] if now_year > 0 else "Nursery"
    school, urn, dt_name = row["school_name"], row["school_urn"], row["designated_teacher_name"]
    if lcs_id in PREVIOUS_SCHOOL:
        school, urn, dt_name = PREVIOUS_SCHOOL[lcs_id]

    year_no = YEAR_GROUPS.index(prev_year) - 1  # Nursery -1, Reception 0, Year N N
    if urn == SPECIAL_SCHOOL_URN:
        pool = "special"
    elif year_no <= 0:
        pool = "early_years"
    elif year_no <= 6:
        pool = "primary"
    elif year_no <= 11:
        pool = "secondary"
    else:
        pool = "post16"
    form = {"early_years": "Early Years PEP", "post16": "Post-16 PEP"}.get(
        pool, "Statutory school age PEP"
    )

    count = 3 if n % 3 == 0 or row["sen_status"] == "ehcp" else 2
    options = TARGETS[pool]
    chosen = [options[(2 * n + k) % len(options)] for k in range(count)]
    if lcs_id in TRANSITION_TARGET:
        chosen = [TRANSITION_TARGET[lcs_id], *chosen[: count - 1]]
    subst = {"dt": short_name(dt_name), "sw": short_name(row["social_worker_name"])}
    targets = tuple((t, owner.format(**subst), by, measure) for t, owner, by, measure in chosen)

    meeting = weekday_on_or_after(dt.date(2026, 5, 5) + dt.timedelta(days=2 * index))
    finalised = add_school_days(meeting, 4 + n % 3)
    next_pep = weekday_on_or_after(dt.date(2026, 10, 1) + dt.timedelta(days=(n * 3) % 28))
    attendance = round(99.0 - ((n * 37) % 110) / 10, 1)
    sessions = 110
    missed = round(sessions * (100 - attendance) / 100)
    unauthorised = min(missed, (n * 7) % 4) if attendance < 95 else 0
    review = REVIEWS[n % len(REVIEWS)]
    if pool == "post16":
        pp_plus = "PP+ not applicable (post-16); 16-19 bursary discussed with the college"
    elif pool == "early_years":
        pp_plus = "Early Years Pupil Premium: \u00a397 this term towards target 1 (approved)"
    else:
        pp_plus = (
            f"PP+ request: \u00a3{300 + (n % 4) * 100} this term for support towards target 1 "
            "(approved by the Education Advisor)"
        )
    return Pep(
        lcs_id=lcs_id,
        initials=f"{row['first_name'][0]}.{row['last_name'][0]}.".upper(),
        form=form,
        year_group=prev_year,
        school=school,
        urn=urn,
        designated_teacher=dt_name,
        social_worker=row["social_worker_name"],
        legal_status=row["legal_status"],
        placement_type=row["placement_type"].replace("_", " "),
        sen_status={"none": "No identified SEN", "sen_support": "SEN support", "ehcp": "EHCP"}[
            row["sen_status"]
        ],
        meeting=meeting,
        finalised=finalised,
        next_pep=next_pep,
        attendance=attendance,
        missed=missed,
        unauthorised=unauthorised,
        review=review,
        targets=targets,
        summary=SUMMARIES[n % len(SUMMARIES)],
        pp_plus=pp_plus,
    )


def uk(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


# --------------------------------------------------------------------------------------
# Layout: a list of (kind, text) items flowed onto A4 pages
# --------------------------------------------------------------------------------------

PAGE_W, PAGE_H = 595, 842
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 56, 56, 60, 70
BODY = 10
LEADING = 13.5

STYLE = {  # kind -> (font resource, size, space before, indent)
    "authority": ("F2", 10, 0, 0),
    "title": ("F2", 15, 6, 0),
    "meta": ("F1", 8.5, 4, 0),
    "h": ("F2", 11.5, 12, 0),
    "p": ("F1", BODY, 0, 0),
    "field": ("F1", BODY, 0, 14),
}

# Helvetica advance widths (1/1000 em), WinAnsi codes 32..126.
# fmt: off
_HELV = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
]
# fmt: on


def text_width(text: str, font: str, size: float) -> float:
    total: float = sum(_HELV[ord(c) - 32] if 32 <= ord(c) <= 126 else 1000 for c in text)
    if font == "F2":  # Helvetica-Bold is a little wider; stay on the safe side
        total *= 1.1
    return total * size / 1000


def wrap(text: str, font: str, size: float, width: float, hang: str = "") -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and text_width(candidate, font, size) > width:
            lines.append(current)
            current = hang + word
        else:
            current = candidate
    lines.append(current)
    return lines


def content(pep: Pep) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = [
        ("authority", "Northvale County Council \u2014 Children's Social Care"),
        ("title", "Personal Education Plan \u2014 Summer term 2026 (finalised)"),
        (
            "meta",
            f"LCS case record export  |  Form: {pep.form}  |  Status: Finalised "
            f"{uk(pep.finalised)}  |  OFFICIAL-SENSITIVE",
        ),
        ("rule", ""),
        ("h", "Child details"),
        ("field", f"LCS ID: {pep.lcs_id}"),
        ("field", f"Child: {pep.initials} (initials only in this export)"),
        ("field", f"Year group (2025-26): {pep.year_group}"),
        ("field", f"School: {pep.school}" + (f" (URN {pep.urn})" if pep.urn else "")),
        ("field", f"Designated Teacher: {pep.designated_teacher}"),
        ("field", f"Social worker: {pep.social_worker}"),
        ("field", f"Legal status: {pep.legal_status}"),
        ("field", f"Placement type: {pep.placement_type}"),
        ("field", f"SEN status: {pep.sen_status}"),
        ("field", f"PEP meeting date: {uk(pep.meeting)}"),
        ("h", "Attendance"),
        (
            "field",
            f"Summer term 2026 to date: {pep.attendance:.1f}% "
            f"(sessions missed: {pep.missed}; unauthorised absences: {pep.unauthorised})",
        ),
    ]
    if pep.attendance < 95:
        items.append(
            (
                "field",
                "Explanation: below 95%; absences linked to contact and health "
                "appointments. Plan agreed between school and carer.",
            )
        )
    items += [
        ("h", "Review of previous targets"),
        ("field", pep.review),
        ("h", "SMART targets (to be reviewed at the Autumn term 2026 PEP)"),
    ]
    for i, (target, owner, by, measure) in enumerate(pep.targets, start=1):
        items += [
            ("target", f"Target {i}: {target}"),
            ("field", f"Owner: {owner}"),
            ("field", f"By: {by}"),
            ("field", f"Measure: {measure}"),
        ]
    if len(pep.targets) >= 3:
        items.append(("pagebreak", ""))
    items += [
        ("h", "Pupil Premium Plus"),
        ("field", pep.pp_plus),
        ("h", "Meeting record"),
        ("field", "Attendees: Designated Teacher, social worker, carer, child (for part)"),
        ("field", f"Summary: {pep.summary}"),
        ("field", f"Next PEP date: {uk(pep.next_pep)}"),
    ]
    return items


def paginate(items: list[tuple[str, str]]) -> list[list[tuple[str, float, float, float, str]]]:
    """Return pages of draw operations: (font, size, x, y, text) or ("rule", ...)."""
    pages: list[list[tuple[str, float, float, float, str]]] = [[]]
    y: float = PAGE_H - MARGIN_T
    width = PAGE_W - MARGIN_L - MARGIN_R
    for kind, text in items:
        if kind == "pagebreak":
            pages.append([])
            y = PAGE_H - MARGIN_T
            continue
        if kind == "rule":
            y -= 6
            pages[-1].append(("rule", 0.6, MARGIN_L, y, ""))
            y -= 4
            continue
        if kind == "target":
            font, size, before, indent = "F1", float(BODY), 5.0, 0.0
            text_lines = wrap(text, font, size, width - 14, hang="")
            lines = [(text_lines[0], 0.0)] + [(t, 14.0) for t in text_lines[1:]]
        else:
            font, size, before, indent = STYLE[kind]
            lines = [(t, 0.0) for t in wrap(text, font, size, width - indent)]
        leading = max(LEADING, size * 1.3)
        needed = before + leading * len(lines)
        if y - needed < MARGIN_B:
            pages.append([])
            y = PAGE_H - MARGIN_T
        y -= before
        for line, extra in lines:
            y -= leading
            pages[-1].append((font, size, MARGIN_L + indent + extra, y, line))
    return pages


# --------------------------------------------------------------------------------------
# PDF writer
# --------------------------------------------------------------------------------------


def pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding, bytes >= 0x80 written as octal escapes."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252"):
        if byte in (0x28, 0x29, 0x5C):
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    out += b")"
    return bytes(out)


def num(value: float) -> bytes:
    return (b"%.2f" % value).rstrip(b"0").rstrip(b".")


def page_stream(ops: list[tuple[str, float, float, float, str]], page_no: int, pages: int) -> bytes:
    parts: list[bytes] = []
    for font, size, x, y, text in ops:
        if font == "rule":
            parts.append(
                b"%s w %s %s m %s %s l S"
                % (num(size), num(x), num(y), num(PAGE_W - MARGIN_R), num(y))
            )
        else:
            parts.append(
                b"BT /%s %s Tf %s %s Td %s Tj ET"
                % (font.encode(), num(size), num(x), num(y), pdf_string(text))
            )
    footer_y = 40
    parts.append(
        b"0.6 w %s %s m %s %s l S"
        % (num(MARGIN_L), num(footer_y + 12), num(PAGE_W - MARGIN_R), num(footer_y + 12))
    )
    parts.append(
        b"BT /F1 8 Tf %s %s Td %s Tj ET"
        % (
            num(MARGIN_L),
            num(footer_y),
            pdf_string("Fictional sample data - Northvale County Council is not a real authority"),
        )
    )
    label = f"Page {page_no} of {pages}"
    parts.append(
        b"BT /F1 8 Tf %s %s Td %s Tj ET"
        % (num(PAGE_W - MARGIN_R - text_width(label, "F1", 8)), num(footer_y), pdf_string(label))
    )
    return b"\n".join(parts) + b"\n"


def render_pdf(pep: Pep) -> bytes:
    pages = paginate(content(pep))
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    f1 = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    f2 = add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
    )
    stamp = b"D:" + pep.finalised.strftime("%Y%m%d").encode() + b"120000Z"
    info = add(
        b"<< /Title "
        + pdf_string(f"Personal Education Plan - Summer term 2026 - {pep.lcs_id}")
        + b" /Author "
        + pdf_string("Northvale County Council (fictional)")
        + b" /Subject "
        + pdf_string("Fictional sample data for PEP Companion")
        + b" /Producer "
        + pdf_string("examples/make_previous_peps.py")
        + b" /CreationDate "
        + pdf_string(stamp.decode())
        + b" /ModDate "
        + pdf_string(stamp.decode())
        + b" >>"
    )
    kids: list[int] = []
    for page_no, ops in enumerate(pages, start=1):
        stream = page_stream(ops, page_no, len(pages))
        contents = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] "
                b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_obj, PAGE_W, PAGE_H, f1, f2, contents)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (
        len(objects) + 1,
        catalog,
        info,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roster", type=Path, default=ROSTER)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)

    with args.roster.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    args.out.mkdir(parents=True, exist_ok=True)

    written: set[str] = set()
    with_pdf = [r for r in rows if r["lcs_id"] not in NO_PREVIOUS_PEP]
    for index, row in enumerate([*with_pdf, UNMATCHED]):
        name = f"{row['lcs_id']}.pdf"
        (args.out / name).write_bytes(render_pdf(build(row, index)))
        written.add(name)
    (args.out / "notes.txt").write_text(STRAY_NOTE, encoding="utf-8", newline="\n")

    # Remove PDFs from earlier runs that this run did not write (only LCS*.pdf here).
    for stale in sorted(args.out.glob("LCS*.pdf")):
        if stale.name not in written:
            stale.unlink()
    print(f"wrote {len(written)} PDFs and notes.txt to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
