"""Every section of the PEP, described once.

Cards, the Word form and the store read these descriptions; none of them lists the
fields again. Section content is held JSON-native: text as str, whole numbers as
int, money as int pence, dates as ISO strings, flags as bool, table sections as a
list of row dicts under the key "rows".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pep_model.confirmations import CONFIRMED, confirmations_in
from pep_model.errors import FieldError
from pep_model.money import format_pence, parse_pounds, pounds
from pep_model.terms import british_date

Content = dict[str, Any]


class FieldKind(StrEnum):
    TEXT = "text"  # one line
    LONG_TEXT = "long_text"  # paragraphs
    INTEGER = "integer"  # whole number, 0 or more
    MONEY = "money"  # pounds typed, pence stored
    DATE = "date"
    CHOICE = "choice"
    FLAG = "flag"  # yes / no


class Stage(StrEnum):
    BEFORE = "before"  # completed before the meeting
    MEETING = "meeting"  # captured in the meeting


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: FieldKind
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    max_length: int = 4000
    hint: str = ""

    def choice_label(self, value: str) -> str:
        return dict(self.choices).get(value, value)


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    guidance: str
    fields: tuple[FieldSpec, ...] = ()
    row_fields: tuple[FieldSpec, ...] = ()
    row_noun: str = "row"
    min_rows: int = 0
    max_rows: int = 0
    stage: Stage = Stage.BEFORE

    @property
    def is_table(self) -> bool:
        return bool(self.row_fields)

    def field(self, name: str) -> FieldSpec:
        for f in (*self.fields, *self.row_fields):
            if f.name == name:
                return f
        raise KeyError(name)

    def field_label(self, name: str) -> str:
        try:
            return self.field(name).label
        except KeyError:
            return name.replace("_", " ")


YES_NO = (("yes", "Yes"), ("no", "No"))
OUTCOMES = (("met", "Met"), ("partly_met", "Partly met"), ("not_met", "Not met"))
HOW_ATTENDED = (("in_person", "In person"), ("teams", "On Teams"), ("phone", "By phone"))
ATTENDEE_ROLES = (
    ("designated_teacher", "Designated teacher"),
    ("pep_lead", "PEP lead"),
    ("social_worker", "Social worker"),
    ("carer", "Carer"),
    ("child", "Child or young person"),
    ("virtual_school_officer", "Virtual School officer"),
    ("teacher", "Teacher or teaching assistant"),
    ("senco", "SENCo"),
    ("iro", "Independent Reviewing Officer"),
    ("parent", "Parent"),
    ("other", "Other professional"),
)
SEN_CHOICES = (("none", "No identified SEN"), ("sen_support", "SEN support"), ("ehcp", "EHC plan"))

F = FieldSpec
K = FieldKind

SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "send",
        "SEND needs",
        "Special educational needs and disabilities: the child's needs and the provision "
        "in place. Say 'none identified' where there are none.",
        fields=(
            F("status", "SEN status", K.CHOICE, choices=SEN_CHOICES),
            F(
                "needs",
                "Needs identified",
                K.LONG_TEXT,
                required=False,
                hint="Required unless no SEN is identified",
            ),
            F(
                "provision",
                "Provision in place",
                K.LONG_TEXT,
                required=False,
                hint="Required unless no SEN is identified",
            ),
            F("ehcp_review_date", "Next EHCP annual review", K.DATE, required=False),
        ),
    ),
    SectionSpec(
        "voice",
        "The child's voice",
        "In the child's own words where possible: what is going well, what is hard, what "
        "they would like to change, what helps them learn.",
        fields=(
            F("views", "What the child or young person says", K.LONG_TEXT),
            F(
                "how_gathered",
                "How their views were gathered",
                K.TEXT,
                required=False,
                max_length=300,
            ),
        ),
    ),
    SectionSpec(
        "attendance",
        "Attendance",
        "Sessions this academic year to date. Attendance below the authority's threshold, "
        "and any unauthorised absence, needs an explanation.",
        fields=(
            F("possible_sessions", "Possible sessions", K.INTEGER),
            F("attended_sessions", "Sessions attended", K.INTEGER),
            F("unauthorised_sessions", "Unauthorised absences (sessions)", K.INTEGER),
            F(
                "explanation",
                "Explanation of absence",
                K.LONG_TEXT,
                required=False,
                hint="Needed below the threshold or for any unauthorised absence",
            ),
        ),
    ),
    SectionSpec(
        "exclusions",
        "Exclusions and suspensions",
        "Suspensions and exclusions this academic year.",
        fields=(
            F("suspensions", "Suspensions this year", K.INTEGER),
            F("days_lost", "School days lost to suspension", K.INTEGER),
            F("permanent_exclusion", "Permanently excluded", K.FLAG),
            F(
                "details",
                "Details and the support put in place",
                K.LONG_TEXT,
                required=False,
                hint="Needed when there has been a suspension or exclusion",
            ),
        ),
    ),
    SectionSpec(
        "attainment",
        "Attainment",
        "For each subject or area of learning: where the child is now and where they are "
        "expected to be.",
        row_fields=(
            F("subject", "Subject or area", K.TEXT, max_length=100),
            F("current", "Current", K.TEXT, max_length=100),
            F("expected", "Expected or target", K.TEXT, max_length=100),
            F("on_track", "On track", K.CHOICE, choices=YES_NO),
        ),
        row_noun="subject",
        min_rows=1,
        max_rows=20,
    ),
    SectionSpec(
        "wellbeing",
        "How the child is doing in school",
        "The school's view, with a trauma-informed focus: relationships, feeling safe, "
        "regulation, strengths and what helps.",
        fields=(
            F("strengths", "Strengths and what is going well", K.LONG_TEXT),
            F("concerns", "Worries and barriers", K.LONG_TEXT, required=False),
            F("support", "What helps and the support in place", K.LONG_TEXT),
        ),
    ),
    SectionSpec(
        "previous_targets",
        "Review of previous SMART targets",
        "Last term's targets, carried forward: was each met, and what is the evidence?",
        row_fields=(
            # room for a carried target: "T1: <1000> (owner: <200>) by dd/mm/yyyy"
            F("target", "Target", K.LONG_TEXT, max_length=1300),
            F("outcome", "Outcome", K.CHOICE, choices=OUTCOMES),
            F("evidence", "Evidence", K.LONG_TEXT, max_length=2000),
        ),
        row_noun="previous target",
        min_rows=0,
        max_rows=15,
    ),
    SectionSpec(
        "targets",
        "Current SMART targets",
        "Specific, measurable targets for this term: who owns each, by when, and how "
        "progress will be measured.",
        row_fields=(
            F("ref", "Ref", K.TEXT, max_length=10, hint="Filled in automatically: T1, T2, …"),
            F("description", "Target", K.LONG_TEXT, max_length=1000),
            F("owner", "Who is responsible", K.TEXT, max_length=200),
            F("due", "By when", K.DATE),
            F("measure", "How progress is measured", K.LONG_TEXT, max_length=1000),
            F(
                "support",
                "Support linked to the target",
                K.LONG_TEXT,
                required=False,
                max_length=1000,
            ),
        ),
        row_noun="target",
        min_rows=1,
        max_rows=10,
    ),
    SectionSpec(
        "pupil_premium",
        "Pupil Premium Plus requests",
        "What PP+ is requested this term, for which target, and the impact expected. "
        "Leave empty when nothing is requested.",
        row_fields=(
            F("amount", "Amount (£)", K.MONEY),
            F("purpose", "What it pays for", K.LONG_TEXT, max_length=1000),
            F("target", "Target it serves (ref)", K.TEXT, max_length=10),
            F("impact", "Expected impact", K.LONG_TEXT, max_length=1000),
        ),
        row_noun="request",
        min_rows=0,
        max_rows=10,
    ),
    SectionSpec(
        "transition",
        "Transition plan",
        "For a child starting, or who has just started, a new school or setting, or at a "
        "phase change: the plan to make the move go well.",
        fields=(
            F(
                "plan",
                "Transition plan",
                K.LONG_TEXT,
                required=False,
                hint="Required for transition cases",
            ),
            F("next_setting", "New or next setting", K.TEXT, required=False, max_length=200),
            F("start_date", "Start date at the new setting", K.DATE, required=False),
        ),
    ),
    SectionSpec(
        "carer",
        "Carer's views and role",
        "The carer's view of the child's education and how they support learning at home.",
        fields=(
            F("views", "Carer's views", K.LONG_TEXT),
            F("role", "How the carer supports learning", K.LONG_TEXT, required=False),
        ),
    ),
    SectionSpec(
        "attendees",
        "Who attended",
        "Everyone at the meeting, their role, and how they joined.",
        row_fields=(
            F("name", "Name", K.TEXT, max_length=200),
            F("role", "Role", K.CHOICE, choices=ATTENDEE_ROLES),
            F("attended", "How they attended", K.CHOICE, choices=HOW_ATTENDED),
        ),
        row_noun="attendee",
        min_rows=1,
        max_rows=30,
        stage=Stage.MEETING,
    ),
    SectionSpec(
        "summary",
        "Meeting summary",
        "What was discussed and agreed.",
        fields=(F("summary", "Summary", K.LONG_TEXT, max_length=8000),),
        stage=Stage.MEETING,
    ),
    SectionSpec(
        "actions",
        "Actions",
        "Who will do what, by when.",
        row_fields=(
            F("action", "Action", K.LONG_TEXT, max_length=1000),
            F("owner", "Owner", K.TEXT, max_length=200),
            F("due", "Due", K.DATE),
        ),
        row_noun="action",
        min_rows=0,
        max_rows=20,
        stage=Stage.MEETING,
    ),
    SectionSpec(
        "next_pep",
        "Next PEP meeting",
        "The date of next term's PEP, set before the meeting ends.",
        fields=(
            F("date", "Date of next term's PEP", K.DATE, required=False),
            F(
                "reason",
                "Reason no date could be set",
                K.LONG_TEXT,
                required=False,
                max_length=1000,
            ),
        ),
        stage=Stage.MEETING,
    ),
)

SECTION_KEYS: tuple[str, ...] = tuple(s.key for s in SECTIONS)
_BY_KEY = {s.key: s for s in SECTIONS}


def section_spec(key: str) -> SectionSpec:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"'{key}' is not a PEP section") from None


# ---- raw input -> content -------------------------------------------------------

RawValue = str | bool | int | None

# Half of a UTF-16 surrogate pair (half an emoji, e.g. "\ud83d" in JSON) cannot be
# stored or shown, and a control character other than tab and line breaks (NUL, pasted
# from another system) cannot be stored in PostgreSQL nor written into a Word file:
# such text is refused, never saved.
_BROKEN = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BROKEN_CHARACTER = "contains a broken character (half an emoji?) — please retype it"


def has_broken_character(text: str) -> bool:
    return _BROKEN.search(text) is not None


def repair_broken(text: str) -> str:
    """The text with each broken character shown as �, so it can be shown back."""
    return _BROKEN.sub("\ufffd", text)


def _blank(value: RawValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_value(spec: FieldSpec, raw: RawValue) -> Any:
    """One typed-in value to its content form. Raises ValueError with a reason."""
    if _blank(raw):
        return None
    if isinstance(raw, str) and has_broken_character(raw):
        raise ValueError(BROKEN_CHARACTER)
    if spec.kind is FieldKind.FLAG:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"true", "yes", "y", "1", "on", "x", "☒"}:
            return True
        if text in {"false", "no", "n", "0", "off", "☐"}:
            return False
        raise ValueError("answer yes or no")
    if isinstance(raw, bool):
        raise ValueError("expected text, not yes/no")
    text = str(raw).strip()
    if spec.kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
        if len(text) > spec.max_length:
            raise ValueError(f"keep this under {spec.max_length} characters (it has {len(text)})")
        return text if spec.kind is FieldKind.LONG_TEXT else " ".join(text.split())
    if spec.kind is FieldKind.INTEGER:
        if not text.isdecimal() or len(text) > 6:
            raise ValueError("enter a whole number, 0 or more")
        return int(text)
    if spec.kind is FieldKind.MONEY:
        return parse_pounds(text)
    if spec.kind is FieldKind.DATE:
        return parse_date(text).isoformat()
    if spec.kind is FieldKind.CHOICE:
        for value, label in spec.choices:
            if text.lower() in (value, label.lower()):
                return value
        allowed = ", ".join(label for _, label in spec.choices)
        raise ValueError(f"choose one of: {allowed}")
    raise AssertionError(spec.kind)  # pragma: no cover


def parse_date(text: str) -> date:
    """ISO (2026-11-28) or the British dd/mm/yyyy."""
    t = text.strip()
    try:
        if "/" in t:
            day, month, year = (int(p) for p in t.split("/"))
            if year >= 1900:
                return date(year, month, day)
        elif len(t) == 10 and t[4] == "-":
            return date.fromisoformat(t)
    except ValueError:
        pass
    raise ValueError("enter a real date as dd/mm/yyyy")


def display_value(spec: FieldSpec, value: Any) -> str:
    """Content value back to the text a person reads and types."""
    if value is None or value == "":
        return ""
    if spec.kind is FieldKind.MONEY:
        return format_pence(int(value))
    if spec.kind is FieldKind.DATE:
        d = date.fromisoformat(str(value))
        return british_date(d)
    if spec.kind is FieldKind.FLAG:
        return "Yes" if value else "No"
    if spec.kind is FieldKind.CHOICE:
        return spec.choice_label(str(value))
    return str(value)


def input_value(spec: FieldSpec, value: Any) -> str:
    """Content value as an input's initial value (ISO dates, plain pounds, raw choice)."""
    if value is None:
        return ""
    if spec.kind is FieldKind.MONEY:
        return pounds(int(value))
    if spec.kind is FieldKind.FLAG:
        return "true" if value else "false"
    return str(value)


def normalise_section(key: str, raw: Mapping[str, Any]) -> tuple[Content, list[FieldError]]:
    """Typed-in values of one section to content, with an error per unreadable field.

    `raw` holds a value per field name; a table section holds "rows": a sequence of
    mappings. Rows in which nothing was typed are dropped. Unknown field names are
    reported, never silently stored. "confirmed" (optional) lists the values the person
    confirmed (pep_model.confirmations); those still matching a value are kept in the
    content under the same key, which a section without any does not have.
    """
    spec = section_spec(key)
    errors: list[FieldError] = []
    content: Content = {}
    known = {f.name for f in spec.fields} | ({"rows"} if spec.is_table else set())
    for name in raw:
        if name not in known and name != CONFIRMED:
            errors.append(
                FieldError(key, repair_broken(str(name)), "is not a field of this section")
            )
    for f in spec.fields:
        try:
            content[f.name] = parse_value(f, raw.get(f.name))
        except ValueError as exc:
            errors.append(FieldError(key, f.name, str(exc)))
            content[f.name] = None
    if spec.is_table:
        rows_raw = raw.get("rows") or []
        if not isinstance(rows_raw, Sequence) or isinstance(rows_raw, str):
            errors.append(FieldError(key, "rows", "expected a list of rows"))
            rows_raw = []
        rows: list[Content] = []
        row_names = {f.name for f in spec.row_fields}
        for index, row_raw in enumerate(rows_raw):
            if not isinstance(row_raw, Mapping):
                errors.append(FieldError(key, "rows", "expected a row of fields", index))
                continue
            if all(_blank(row_raw.get(f.name)) for f in spec.row_fields):
                continue
            row: Content = {}
            for name in row_raw:
                if name not in row_names:
                    errors.append(
                        FieldError(
                            key, repair_broken(str(name)), "is not a field of this table", len(rows)
                        )
                    )
            for f in spec.row_fields:
                try:
                    row[f.name] = parse_value(f, row_raw.get(f.name))
                except ValueError as exc:
                    errors.append(FieldError(key, f.name, str(exc), len(rows)))
                    row[f.name] = None
            rows.append(row)
        if spec.max_rows and len(rows) > spec.max_rows:
            errors.append(FieldError(key, "rows", f"no more than {spec.max_rows} {spec.row_noun}s"))
        content["rows"] = rows
    names = {f.name for f in (*spec.fields, *spec.row_fields)}
    tokens, problem = confirmations_in(raw.get(CONFIRMED), names, content)
    if problem:
        errors.append(FieldError(key, CONFIRMED, problem))
    if tokens:
        content[CONFIRMED] = tokens
    return content, errors


def empty_content(key: str) -> Content:
    spec = section_spec(key)
    content: Content = {f.name: None for f in spec.fields}
    if spec.is_table:
        content["rows"] = []
    return content


def raw_from_content(key: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """Content back to typed-in form, so it can be normalised again (round trip)."""
    spec = section_spec(key)
    raw: dict[str, Any] = {f.name: input_value(f, content.get(f.name)) for f in spec.fields}
    if spec.is_table:
        raw["rows"] = [
            {f.name: input_value(f, row.get(f.name)) for f in spec.row_fields}
            for row in content.get("rows") or []
        ]
    if content.get(CONFIRMED):
        raw[CONFIRMED] = list(content[CONFIRMED])
    return raw
