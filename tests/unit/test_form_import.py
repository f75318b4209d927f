"""A returned Word form saved into its PEP (pep_model/form_import.py, form_merge.py):
nothing typed in Teams since the form was made is overwritten, the meeting's record is
the meeting's, an empty box never clears an answer unless confirmed, a form for another
term asks first, good sections are saved when others are bad."""

from __future__ import annotations

from typing import Any

import pytest

from forms.new_term import render_new_term_form
from forms.read_back import read_form, returned_form
from pep_model.access import Actor
from pep_model.form_import import FormImport, ReturnedForm
from pep_model.form_merge import Clearing, FormBase, section_print
from pep_model.pep import Pep
from pep_model.sections import SECTION_KEYS, Content, empty_content
from pep_model.services import PepService
from pep_model.workflow import PepStatus
from tests.support.docx_fill import FormEditor
from tests.unit.builders import content_of, fill_complete, meeting_raw, record
from tests.unit.fakes import InMemoryUnitOfWorkFactory
from tests.unit.forms_fixtures import make_data, without_part

VOICE = {"views": "I like science.", "how_gathered": "Chat with my key adult"}


@pytest.fixture
async def pep_id(service: PepService) -> str:
    return (await service.open_pep("LCS100001", "2026-autumn")).id


def form_made_from(
    pep: Pep, *, base: bool = True, term_id: str | None = None, **changes: Content
) -> ReturnedForm:
    """The form as the service would have made it from `pep`, with `changes` typed in
    by its author (each a whole section's answers)."""
    sections = {k: dict(pep.section(k)) for k in SECTION_KEYS}
    sections.update({k: {**empty_content(k), **v} for k, v in changes.items()})
    made = (
        FormBase(
            pep.version,
            dict(pep.section_versions),
            {k: section_print(pep.section(k)) for k in SECTION_KEYS},
        )
        if base
        else FormBase()
    )
    return ReturnedForm(pep.child_id, term_id or pep.term_id, sections, (), made)


def voice(views: str, how: str | None = None) -> dict[str, Any]:
    return {"views": views, "how_gathered": how}


async def test_a_teams_edit_since_the_form_was_made_survives(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, sw: Actor
) -> None:
    form = form_made_from(
        factory.stored_pep(pep_id), carer={"views": "Happy at home", "role": "Reads with her"}
    )
    await record(service, factory, pep_id, "voice", VOICE, sw)  # after the form was made
    out = await FormImport(service).import_form(form, dt, "uploaded in Teams: f.docx")
    pep = factory.stored_pep(pep_id)
    assert pep.sections["voice"]["views"] == "I like science."
    assert pep.sections["carer"]["views"] == "Happy at home"
    assert out.saved == ["carer"] and out.kept_newer == ["voice"] and not out.conflicts


async def test_both_changed_keeps_teams_and_says_who_and_when(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor, sw: Actor
) -> None:
    form = form_made_from(factory.stored_pep(pep_id), voice=voice("I like art."))
    await record(service, factory, pep_id, "voice", VOICE, sw)
    out = await FormImport(service).import_form(form, dt, "f.docx")
    assert factory.stored_pep(pep_id).sections["voice"]["views"] == "I like science."
    [conflict] = out.conflicts
    assert conflict.section == "voice" and conflict.form["views"] == "I like art."
    assert conflict.stored["views"] == "I like science."
    assert conflict.changed_by == sw.person.name  # type: ignore[union-attr]
    assert conflict.changed_at is not None and not out.saved


async def test_an_old_form_never_overwrites_a_section_changed_in_teams(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await record(service, factory, pep_id, "voice", VOICE, dt)
    pep = factory.stored_pep(pep_id)
    form = form_made_from(pep, base=False, voice=voice(""), carer={"views": "Happy at home"})
    out = await FormImport(service).import_form(form, dt, "f.docx")
    pep = factory.stored_pep(pep_id)
    assert pep.sections["voice"]["views"] == "I like science."
    assert [c.section for c in out.conflicts] == ["voice"]
    assert pep.sections["carer"]["views"] == "Happy at home"  # never saved: no conflict


async def test_empty_boxes_ask_before_clearing_and_a_stale_confirm_does_nothing(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    await record(service, factory, pep_id, "voice", VOICE, dt)
    form = form_made_from(factory.stored_pep(pep_id), voice=voice("I like art."))
    importer = FormImport(service)
    out = await importer.import_form(form, dt, "f.docx")
    stored = factory.stored_pep(pep_id).sections["voice"]
    assert stored == {"views": "I like art.", "how_gathered": "Chat with my key adult"}
    assert out.clearings == [Clearing("voice", "how_gathered")]
    # someone saves the section again before the person answers: nothing is cleared
    await record(service, factory, pep_id, "voice", voice("I like art.", "Asked her"), dt)
    stale = await importer.clear_answers(pep_id, out.clearings, out.clear_versions, dt)
    assert stale.stale == ["voice"] and not stale.cleared
    assert factory.stored_pep(pep_id).sections["voice"]["how_gathered"] == "Asked her"
    # asked again on the current version, the confirm clears exactly that answer
    out = await importer.import_form(
        form_made_from(factory.stored_pep(pep_id), voice=voice("I like art.")), dt, "f"
    )
    done = await importer.clear_answers(pep_id, out.clearings, out.clear_versions, dt)
    assert done.cleared == [Clearing("voice", "how_gathered")]
    assert factory.stored_pep(pep_id).sections["voice"] == voice("I like art.")
    again = await importer.clear_answers(pep_id, out.clearings, out.clear_versions, dt)
    assert again.stale == ["voice"]  # a double click clears nothing more


async def test_the_meeting_record_is_never_changed_by_a_form_after_the_meeting(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    before_meeting = factory.stored_pep(pep_id)
    form = form_made_from(before_meeting)  # the pre-meeting form: meeting boxes empty
    await fill_complete(service, factory, pep_id, dt)
    await service.start_meeting(pep_id, dt)
    for key, raw in meeting_raw().items():
        assert (await record(service, factory, pep_id, key, raw, dt)).saved
    record_before = {k: factory.stored_pep(pep_id).sections[k] for k in meeting_raw()}
    out = await FormImport(service).import_form(form, dt, "f.docx")
    pep = factory.stored_pep(pep_id)
    assert {k: pep.sections[k] for k in meeting_raw()} == record_before
    assert out.saved == [] and not out.problems and not out.clearings
    typed = form_made_from(before_meeting, summary={"summary": "Another summary"})
    out = await FormImport(service).import_form(typed, dt, "f.docx")
    assert out.meeting_kept == ["summary"]
    assert factory.stored_pep(pep_id).sections["summary"] == record_before["summary"]


async def test_empty_meeting_sections_are_skipped_silently_before_the_meeting(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    raw = content_of({"voice": VOICE})
    form = form_made_from(factory.stored_pep(pep_id), voice=raw["voice"])
    out = await FormImport(service).import_form(form, dt, "f.docx")
    assert out.saved == ["voice"]
    sections = {p.section for p in [*out.problems, *out.gaps]}
    assert not sections & {"attendees", "summary", "actions", "next_pep"}
    assert not out.not_yet and not out.meeting_kept


async def test_good_sections_are_saved_and_bad_ones_listed(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    form = form_made_from(
        factory.stored_pep(pep_id),
        voice=voice("I like art."),
        attendance={"possible_sessions": 100, "attended_sessions": 120, "unauthorised_sessions": 0},
    )
    out = await FormImport(service).import_form(form, dt, "f.docx")
    assert out.saved == ["voice"]
    assert [(p.section, p.field) for p in out.problems] == [("attendance", "attended_sessions")]
    assert "attendance" not in factory.stored_pep(pep_id).sections


async def test_the_readiness_gaps_of_saved_sections_need_attention(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    form = form_made_from(
        factory.stored_pep(pep_id),
        targets={
            "rows": [
                {
                    "description": "Read every day",
                    "owner": "Carer",
                    "due": None,
                    "measure": "Reading log",
                }
            ]
        },
    )
    out = await FormImport(service).import_form(form, dt, "f.docx")
    assert out.saved == ["targets"]
    assert ("targets", "due", 0) in [(g.section, g.field, g.row) for g in out.gaps]


async def test_a_form_for_another_term_asks_first(
    service: PepService, factory: InMemoryUnitOfWorkFactory, dt: Actor
) -> None:
    spring = await service.open_pep("LCS100001", "2027-spring")
    form = form_made_from(spring, voice=voice("I like art."))
    importer = FormImport(service)
    out = await importer.import_form(form, dt, "f.docx")
    assert out.other_term and out.term.id == "2027-spring"
    assert out.current_term.id == "2026-autumn" and not out.saved
    assert "voice" not in factory.stored_pep(spring.id).sections
    out = await importer.import_form(form, dt, "f.docx", other_term_confirmed=True)
    assert out.saved == ["voice"]


async def test_the_import_is_audited_with_who_and_where_from(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    form = form_made_from(factory.stored_pep(pep_id), voice=voice("I like art."))
    await FormImport(service).import_form(form, dt, "forms import: PEP.docx")
    [entry] = [e for e in factory.audit_entries(pep_id) if e.action == "form.import"]
    assert entry.actor_id == dt.id
    assert entry.after == {"source": "forms import: PEP.docx", "sections": ["voice"]}


async def test_a_returned_pep_is_not_changed_by_a_form(
    service: PepService, factory: InMemoryUnitOfWorkFactory, pep_id: str, dt: Actor
) -> None:
    form = form_made_from(factory.stored_pep(pep_id), voice=voice("I like art."))
    pep = factory.stored_pep(pep_id)
    pep.status = PepStatus.RETURNED
    await factory.peps.save(pep, pep.version)
    out = await FormImport(service).import_form(form, dt, "f.docx")
    assert out.locked and not out.saved


def test_a_fingerprint_ignores_confirmations_and_empty_rows() -> None:
    plain = {"rows": [{"a": "x", "b": None}]}
    assert section_print(plain) == section_print(
        {"rows": [{"a": "x", "b": ""}, {"a": None, "b": None}], "confirmed": ["t"]}
    )
    assert section_print(plain) != section_print({"rows": [{"a": "y", "b": None}]})


# ---- through the Word form ---------------------------------------------------------


def test_the_form_carries_what_it_was_made_from() -> None:
    data = make_data({"voice": {"views": "Likes art", "how_gathered": None}})
    data.pep.version, data.pep.section_versions = 7, {"voice": 5}
    form = returned_form(read_form(render_new_term_form(data)))
    assert form.base.pep_version == 7 and form.base.section_versions["voice"] == 5
    for key in SECTION_KEYS:  # read back unchanged, each section is the author's base
        assert section_print(form.sections[key]) == form.base.prints[key], key


def test_an_old_form_without_hidden_data_is_read_as_made_from_nothing() -> None:
    old = without_part(render_new_term_form(make_data()), "docProps/custom.xml")
    form = returned_form(read_form(old))
    assert form.base == FormBase() and not form.base.known
    assert form.pep_id.startswith("LCS204817-")


def test_text_typed_outside_a_box_is_named_by_section() -> None:
    editor = FormEditor(render_new_term_form(make_data()))
    editor.type_beside("f:voice.views", "She says she likes art")
    editor.type_beside("c:send.status=none", "(see the EHCP)")
    form = returned_form(read_form(editor.save()))
    assert form.outside == ["send", "voice"]
    untouched = returned_form(read_form(render_new_term_form(make_data())))
    assert untouched.outside == []
