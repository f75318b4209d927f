"""The rules a PEP meeting relies on, through the real HTTP stack: what the lead types on
the meeting card, what is refused (named by field), what is asked to be confirmed, and
that moving on never blocks on an untouched section."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import HARRIET, BotEnv
from tests.e2e.test_shared_chat_http import CHAT, card_of, start, stored
from tests.support.teams import actions, card_text, go_to, inputs, submit


async def section(env: BotEnv, lead: dict[str, Any], key: str) -> dict[str, Any]:
    """Jump to a section (nothing typed on the card on screen)."""
    return card_of(await env.invoke(HARRIET, CHAT, go_to(lead, key)))


async def save(env: BotEnv, card: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    return card_of(await env.invoke(HARRIET, CHAT, submit(card, "pep.section.save", typed)))


async def test_moving_on_never_blocks_on_an_untouched_section(bot_env: BotEnv) -> None:
    # LCS100001's SEN status is carried in from the roster; the lead types nothing in
    # section 1 and presses Next: the walkthrough moves on
    lead = await start(bot_env)
    moved = card_of(await bot_env.invoke(HARRIET, CHAT, submit(lead, "pep.nav", title="Next ▶")))
    assert "The child's voice" in card_text(moved)
    # a child with SEN support, needs not written yet: saved, and still asked for later
    back = card_of(
        await bot_env.invoke(HARRIET, CHAT, submit(moved, "pep.nav", title="◀ Previous"))
    )
    saved = await save(bot_env, back, {"f.status": "sen_support"})
    assert "Saved" in card_text(saved)
    assert (await stored(bot_env)).sections["send"]["status"] == "sen_support"
    onward = card_of(await bot_env.invoke(HARRIET, CHAT, submit(saved, "pep.nav", title="Next ▶")))
    assert "The child's voice" in card_text(onward)


async def test_next_pep_date_on_a_weekend_or_in_half_term_is_refused(bot_env: BotEnv) -> None:
    lead = await section(bot_env, await start(bot_env), "next_pep")
    for day, why in (("2027-01-16", "Saturday"), ("2027-02-15", "half-term")):
        refused = await save(bot_env, lead, {"f.date": day})
        assert why in card_text(refused), day
        assert inputs(refused)["f.date"] == day  # the typing is kept
    assert not (await stored(bot_env)).sections.get("next_pep", {}).get("date")
    ok = await save(bot_env, lead, {"f.date": "2027-01-20"})
    assert "Saved" in card_text(ok)


async def test_a_reason_without_a_date_must_be_a_real_reason(bot_env: BotEnv) -> None:
    lead = await section(bot_env, await start(bot_env), "next_pep")
    refused = await save(bot_env, lead, {"f.date": "", "f.reason": "x"})
    assert "at least 4 words" in card_text(refused)
    ok = await save(bot_env, lead, {"f.date": "", "f.reason": "The child moves school in January"})
    assert "Saved" in card_text(ok)


async def test_attendance_below_the_threshold_by_a_hair_needs_an_explanation(
    bot_env: BotEnv,
) -> None:
    lead = await section(bot_env, await start(bot_env), "attendance")
    # 1899 of 2000 sessions is 94.95 %: not rounded up to 95 %
    saved = await save(
        bot_env,
        lead,
        {
            "f.possible_sessions": "2000",
            "f.attended_sessions": "1899",
            "f.unauthorised_sessions": "0",
        },
    )
    assert "Saved" in card_text(saved)
    async with bot_env.container.uow() as uow:
        pep = await uow.peps.get((await stored(bot_env)).id)
    assert pep is not None
    view = bot_env.container.service.view(pep, (await _child(bot_env)))
    assert any(p.section == "attendance" and p.field == "explanation" for p in view.problems)


async def test_inconsistent_exclusion_figures_are_refused(bot_env: BotEnv) -> None:
    lead = await section(bot_env, await start(bot_env), "exclusions")
    refused = await save(bot_env, lead, {"f.suspensions": "0", "f.days_lost": "3"})
    assert "Saved" not in card_text(refused)
    assert "Suspensions" in card_text(refused)


async def test_a_target_due_after_next_term_is_confirmed_once(bot_env: BotEnv) -> None:
    lead = await section(bot_env, await start(bot_env), "targets")
    typed = {
        "r.0.description": "Read 50 common words by sight",
        "r.0.owner": "Class teacher",
        "r.0.due": "2035-01-15",
        "r.0.measure": "Word list check",
        "r.0.support": "Daily reading",
    }
    asked = await save(bot_env, lead, typed)
    toggles = [i for i in inputs(asked) if i.startswith("c.")]
    assert toggles, card_text(asked)
    kept = await save(bot_env, asked, {**typed, toggles[0]: "true"})
    assert "Saved" in card_text(kept)
    assert (await stored(bot_env)).sections["targets"]["rows"][0]["due"] == "2035-01-15"
    # saving the section again does not ask again
    again = await save(bot_env, kept, {"r.0.measure": "Word list check, termly"})
    assert "Saved" in card_text(again) and not [i for i in inputs(again) if i.startswith("c.")]


async def test_half_an_emoji_is_refused_by_field_and_nothing_breaks(bot_env: BotEnv) -> None:
    lead = await section(bot_env, await start(bot_env), "voice")
    refused = await save(bot_env, lead, {"f.views": "I like \ud83d school"})
    assert "broken character" in card_text(refused)
    assert not (await stored(bot_env)).sections.get("voice", {}).get("views")
    # the walkthrough still answers for everyone
    shared = bot_env.connector.cards(CHAT, "POST")[-1]
    view = card_of(await bot_env.invoke(HARRIET, CHAT, submit(shared, "pep.walkthrough.refresh")))
    assert actions(view, "pep.section.save")


async def _child(env: BotEnv) -> Any:
    async with env.container.uow() as uow:
        return await uow.children.get("LCS100001")
