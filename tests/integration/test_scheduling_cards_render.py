"""The Microsoft 365 cards through the official Adaptive Cards JS renderer with the Teams
host config (one browser launch for every variant of tests/unit/test_scheduling_cards)."""

from __future__ import annotations

from pep_model.access import Actor
from pep_model.rules import PepRules
from pep_model.scheduling import SchedulingService
from pep_model.services import PepService
from pep_model.terms import default_calendar
from tests.support.card_check import render_available, render_errors
from tests.support.tools import needs
from tests.unit.builders import make_child
from tests.unit.conftest import ASSIGNMENTS, OTHER_SCHOOL, SCHOOL, SW
from tests.unit.fakes import FixedClock, InMemoryUnitOfWorkFactory
from tests.unit.test_scheduling_cards import variants


async def test_every_scheduling_card_renders_without_errors() -> None:
    needs(render_available())
    factory = InMemoryUnitOfWorkFactory().seed(
        schools=[SCHOOL, OTHER_SCHOOL],
        children=[make_child("LCS100001", 7, SCHOOL.urn)],
        people=list(ASSIGNMENTS),
        assignments=[a for h in ASSIGNMENTS.values() for a in h],
    )
    service = PepService(factory, default_calendar(), PepRules(), FixedClock())
    plan = await SchedulingService(service).plan(Actor(SW, ASSIGNMENTS[SW]), "LCS100001")
    named = variants(plan)
    results = render_errors(list(named.values()))
    problems = {name: r for name, r in zip(named, results, strict=True) if r}
    assert problems == {}
