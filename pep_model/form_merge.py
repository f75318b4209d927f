"""The merge rule for a PEP form that comes back (uploaded in Teams, imported from an
e-mail), decided per section, pure: what the form may change and what it must leave.

- A meeting section belongs to the meeting: a form never changes it once the meeting
  has started, and before the meeting it is not the form's to fill (an empty one is
  skipped silently).
- A section changes only when the form's author changed it relative to what the form
  was made from (its fingerprint, carried in the form's hidden data). When the section
  also changed in Teams since the form was made, nothing is overwritten: a conflict,
  shown with both versions. A form without that hidden data (an old form) is read as
  made from version 0: a section changed in Teams at all is never overwritten.
- An empty box never clears a stored answer: the stored answer stays and the clearing
  is asked about (Clearing), carrying the section's version so that a stale confirm
  does nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pep_model.confirmations import CONFIRMED
from pep_model.errors import FieldError
from pep_model.rules import PepContext, check_section, missing_fields
from pep_model.sections import Content, Stage, section_spec


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items() if k != CONFIRMED}
    if isinstance(value, list | tuple):
        rows = [_canonical(v) for v in value]
        return [r for r in rows if not (isinstance(r, dict) and _empty_row(r))]
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _empty_row(row: Mapping[str, Any]) -> bool:
    return all(v is None for v in row.values())


def section_print(content: Mapping[str, Any] | None) -> str:
    """A short fingerprint of a section's answers (confirmations left out): equal
    answers, equal prints, however they were stored."""
    text = json.dumps(
        _canonical(dict(content or {})), sort_keys=True, ensure_ascii=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def same_answers(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return section_print(a) == section_print(b)


@dataclass(frozen=True)
class FormBase:
    """What a form was made from: the PEP's version, and each section's version and
    fingerprint then. Empty (an old form): version 0, no fingerprints."""

    pep_version: int = 0
    section_versions: Mapping[str, int] = field(default_factory=dict)
    prints: Mapping[str, str] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return bool(self.prints)


class Verdict(StrEnum):
    SAVE = "save"  # the author changed it; Teams did not since
    UNCHANGED = "unchanged"  # the form says what is stored (or nothing new)
    KEPT_NEWER = "kept_newer"  # changed in Teams since, untouched in the form
    CONFLICT = "conflict"  # changed in both: Teams' version kept
    MEETING_KEPT = "meeting_kept"  # a meeting section, after the meeting started
    NOT_YET = "not_yet"  # a meeting section typed in before the meeting
    BAD = "bad"  # cannot be read or breaks a rule: not saved


@dataclass(frozen=True)
class Clearing:
    """A stored answer an empty box in the form would clear (not done unless asked)."""

    section: str
    field: str
    row: int | None = None

    def as_list(self) -> list[Any]:
        return [self.section, self.field, self.row]


@dataclass(frozen=True)
class SectionPlan:
    verdict: Verdict
    content: Content | None = None  # what to store (SAVE)
    clearings: tuple[Clearing, ...] = ()  # kept, to be asked about
    problems: tuple[FieldError, ...] = ()  # BAD


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def keep_stored_answers(
    key: str, form: Content, stored: Mapping[str, Any]
) -> tuple[Content, tuple[Clearing, ...]]:
    """The form's answers, with every stored answer the form leaves empty kept; the
    clearings the form would have made. Rows are matched by position."""
    spec = section_spec(key)
    merged: Content = dict(form)
    clearings: list[Clearing] = []
    for f in spec.fields:
        if not _filled(form.get(f.name)) and _filled(stored.get(f.name)):
            merged[f.name] = stored.get(f.name)
            clearings.append(Clearing(key, f.name))
    if spec.is_table:
        form_rows = [dict(r) for r in form.get("rows") or []]
        stored_rows = list(stored.get("rows") or [])
        for i, old in enumerate(stored_rows):
            if i >= len(form_rows):
                form_rows.append({f.name: None for f in spec.row_fields})
            new = form_rows[i]
            for f in spec.row_fields:
                if not _filled(new.get(f.name)) and _filled(old.get(f.name)):
                    new[f.name] = old.get(f.name)
                    clearings.append(Clearing(key, f.name, i))
        merged["rows"] = form_rows
    return merged, tuple(clearings)


def apply_clearings(key: str, stored: Content, clearings: Sequence[Clearing]) -> Content:
    """The stored section with exactly these answers cleared (rows left empty dropped)."""
    spec = section_spec(key)
    content: Content = {k: v for k, v in stored.items() if k != "rows"}
    rows = [dict(r) for r in stored.get("rows") or []]
    for c in clearings:
        if c.section != key:
            continue
        if c.row is None and c.field in content:
            content[c.field] = None
        elif c.row is not None and c.row < len(rows) and c.field in rows[c.row]:
            rows[c.row][c.field] = None
    if spec.is_table:
        content["rows"] = [r for r in rows if any(_filled(v) for k, v in r.items())]
    return content


def plan_section(
    key: str,
    form: Content | None,
    stored: Mapping[str, Any] | None,
    stored_version: int,
    base: FormBase,
    *,
    meeting_started: bool,
    reading_problems: Sequence[FieldError] = (),
) -> SectionPlan:
    """What a returned form may do to one section (the rule in this module's text)."""
    stored = stored or {}
    spec = section_spec(key)
    if form is None:
        return SectionPlan(Verdict.UNCHANGED)
    if spec.stage is Stage.MEETING:
        if same_answers(form, stored) or section_print(form) == section_print(_empty_like(form)):
            return SectionPlan(Verdict.UNCHANGED)  # nothing of the form's own: silent
        if meeting_started:
            return SectionPlan(Verdict.MEETING_KEPT)
        return SectionPlan(Verdict.NOT_YET)
    if reading_problems:
        return SectionPlan(Verdict.BAD, problems=tuple(reading_problems))
    if same_answers(form, stored):
        return SectionPlan(Verdict.UNCHANGED)
    base_version = base.section_versions.get(key, 0)
    base_print = base.prints.get(key)
    changed_in_teams = stored_version != base_version
    author_changed = base_print is None or section_print(form) != base_print
    if not author_changed:
        return SectionPlan(Verdict.KEPT_NEWER if changed_in_teams else Verdict.UNCHANGED)
    if changed_in_teams:
        return SectionPlan(Verdict.CONFLICT)
    merged, clearings = keep_stored_answers(key, form, stored)
    if same_answers(merged, stored):
        return SectionPlan(Verdict.UNCHANGED, clearings=clearings)
    return SectionPlan(Verdict.SAVE, merged, clearings)


def _empty_like(form: Content) -> Content:
    return {k: ([] if k == "rows" else None) for k in form}


def form_problems(
    ctx: PepContext, key: str, content: Content, reading_problems: Sequence[FieldError] = ()
) -> tuple[list[FieldError], list[FieldError]]:
    """One rule set for a form's section, whoever reads it (the upload, `forms read`,
    `forms import`): (what stops it being saved: unreadable or wrong values; what it
    still lacks for the meeting: readiness gaps). `ctx` holds the PEP's other sections
    as they would stand."""
    unreadable = {(e.field, e.row) for e in reading_problems}
    blocking = list(reading_problems) + [
        e
        for e in check_section(ctx.with_section(key, content), key, content)
        if (e.field, e.row) not in unreadable
    ]
    gaps: list[FieldError] = []
    if section_spec(key).stage is not Stage.MEETING:
        gaps = [
            e
            for e in missing_fields(ctx.with_section(key, content), key)
            if (e.field, e.row) not in unreadable
        ]
    return blocking, gaps
