"""The Virtual School's overview and the PP+ schedule export at authority scale, on SQLite
(file) and PostgreSQL.

An authority of 5,000 children in 250 schools with 15,000 PEPs (three terms each, every
PEP carrying a complete record, ~4 KB of JSON), QA rounds, PP+ requests with decisions,
scheduled meetings and two earlier frozen schedules. Then, through the real use cases:

* overview: OverviewService.overview for the current term (the SQL projection plus
  build_overview), warm, repeated — target <= 200 ms;
* export: PupilPremiumService.export of the current term, the first time (build, CSV,
  Word document, carry-forward, freeze) — target <= 2 s; then again (the frozen files);
  and the summer term's, where every PEP is finalised (the largest schedule).

    python bench/bench_overview.py [--children 5000] [--runs 20] [--only sqlite|postgresql]

PostgreSQL: the server at PEP_TEST_POSTGRES_URL (default
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres); a scratch database
pep_bench_<hex> is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.databases import backends
from forms.payment_schedule import render_payment_schedule
from pep_model.access import SYSTEM
from pep_model.overview_service import OverviewService
from pep_model.pupil_premium_service import PupilPremiumService
from pep_model.rules import PepRules
from pep_model.sections import SECTION_KEYS
from pep_model.terms import default_calendar
from pep_model.workflow import PepStatus
from store.database import make_engine
from store.migrate import upgrade
from store.tables import (
    children,
    meetings,
    peps,
    pp_requests,
    pp_schedules,
    qa_rounds,
    schools,
)
from store.unit_of_work import SqlUnitOfWorkFactory
from tests.unit.builders import complete_raw, content_of, meeting_raw

TERMS = ("2026-spring", "2026-summer", "2026-autumn")
CURRENT = "2026-autumn"
OVERVIEW_DAY = date(2026, 11, 16)
EXPORT_AT = datetime(2026, 12, 18, 17, 0, tzinfo=UTC)
S = PepStatus
CURRENT_MIX = (
    (S.DRAFT, 8),
    (S.PACK_SENT, 4),
    (S.IN_PROGRESS, 12),
    (S.READY_FOR_MEETING, 10),
    (S.IN_MEETING, 1),
    (S.AWAITING_RETURN, 20),
    (S.RETURNED, 5),
    (S.IN_QA, 8),
    (S.AMENDMENTS_REQUESTED, 5),
    (S.FINALISED, 27),
)
RETURNED_OR_LATER = {S.RETURNED, S.IN_QA, S.AMENDMENTS_REQUESTED, S.FINALISED}


class Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def authority(n_children: int, seed: int = 20261116) -> dict[str, list[dict[str, Any]]]:
    """Rows for every table, deterministic for a seed."""
    rnd = random.Random(seed)
    sections = content_of({**complete_raw(), **meeting_raw()})
    now = datetime(2026, 11, 1, tzinfo=UTC)
    data: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "schools",
            "children",
            "peps",
            "qa_rounds",
            "pp_requests",
            "pp_schedules",
            "meetings",
        )
    }
    urns = [f"9{i:05d}" for i in range(max(n_children // 20, 1))]
    data["schools"] = [{"urn": u, "name": f"Bench School {u}"} for u in urns]
    statuses = [s for s, weight in CURRENT_MIX for _ in range(weight)]
    data["pp_schedules"].append(
        {  # spring was exported; summer waits (the large export)
            "term_id": "2026-spring",
            "frozen_at": datetime(2026, 4, 20, tzinfo=UTC),
            "frozen_by": "bench",
            "csv": "",
            "document": b"",
            "document_name": "",
            "total_pence": 0,
            "held_pence": 0,
        }
    )
    for i in range(n_children):
        lcs = f"LCS{200000 + i}"
        urn = rnd.choice(urns)
        data["children"].append(
            {
                "lcs_id": lcs,
                "first_name": "Bench",
                "last_name": f"Child{i}",
                "date_of_birth": date(2010 + i % 12, 1 + i % 12, 1 + i % 27),
                "year_group": rnd.randint(-1, 13),
                "school_urn": urn,
                "placement_type": "foster",
                "placement_start": None,
                "school_start_date": date(2026, 10, 1) if rnd.random() < 0.05 else None,
                "carer_name": "",
                "legal_status": "",
                "sen_status": "none",
                "complex_case": rnd.random() < 0.04,
                "transition_flag": rnd.random() < 0.03,
                "updated_at": now,
            }
        )
        for term in TERMS:
            status = rnd.choice(statuses) if term == CURRENT else S.FINALISED
            pep_id = f"{lcs}-{term}"
            met = status not in (
                S.DRAFT,
                S.PACK_SENT,
                S.IN_PROGRESS,
                S.READY_FOR_MEETING,
                S.IN_MEETING,
            )
            held = date(2026, 10, 1) + timedelta(days=rnd.randint(0, 45)) if met else None
            voice = {**sections["voice"], "views": f"{sections['voice']['views']} ({i})"}
            data["peps"].append(
                {
                    "id": pep_id,
                    "child_id": lcs,
                    "term_id": term,
                    "status": status.value,
                    "version": rnd.randint(5, 60),
                    "sections": {**sections, "voice": voice},
                    "section_versions": dict.fromkeys(SECTION_KEYS, 3),
                    "current_section": "next_pep",
                    "meeting": None,
                    "chat_id": None,
                    "meeting_held_on": held,
                    "return_due": held + timedelta(days=5) if held else None,
                    "updated_at": now,
                }
            )
            if (term == CURRENT and status in (S.READY_FOR_MEETING, S.IN_MEETING)) or (
                term == CURRENT and met
            ):
                starts = datetime(2026, 11, 20, 10, tzinfo=UTC) + timedelta(hours=i % 200)
                data["meetings"].append(
                    {
                        "pep_id": pep_id,
                        "child_id": lcs,
                        "term_id": term,
                        "status": "scheduled",
                        "organiser_id": "sw@bench.example",
                        "starts_at": starts,
                        "ends_at": starts + timedelta(hours=1),
                        "attendees": [],
                        "generation": 1,
                        "version": 0,
                        "updated_at": now,
                        "virtual_school_attending": ["vso@bench.example"]
                        if rnd.random() < 0.3
                        else [],
                    }
                )
            if status in (S.IN_QA, S.AMENDMENTS_REQUESTED, S.FINALISED):
                rounds = 2 if rnd.random() < 0.2 else 1
                for n in range(1, rounds + 1):
                    last = n == rounds
                    decision = "approve" if status is S.FINALISED and last else "return"
                    overall = (
                        rnd.choice(("gold", "green", "green", "amber"))
                        if decision == "approve"
                        else rnd.choice(("amber", "red"))
                    )
                    data["qa_rounds"].append(
                        {
                            "pep_id": pep_id,
                            "term_id": term,
                            "number": n,
                            "coordinator_id": "coordinator@bench.example",
                            "grades": {"voice": overall, "targets": overall},
                            "overall": overall,
                            "computed": overall,
                            "override_reason": "",
                            "feedback": "Bench",
                            "decision": decision,
                            "at": now + timedelta(days=n),
                        }
                    )
            if status in RETURNED_OR_LATER and rnd.random() < 0.7:
                left = 55_000
                for r in range(rnd.choice((1, 1, 2))):
                    amount = min(rnd.choice((15_000, 25_000, 30_000, 40_000)), left)
                    left -= amount
                    decided = rnd.random() < 0.85 and amount > 0
                    approved = rnd.choice((amount, amount, amount // 2, 0)) if decided else None
                    pays = term
                    data["pp_requests"].append(
                        {
                            "id": f"{pep_id}-pp{r + 1}",
                            "pep_id": pep_id,
                            "child_id": lcs,
                            "term_id": term,
                            "school_urn": urn,
                            "school_name": f"Bench School {urn}",
                            "row_index": r,
                            "amount_pence": amount,
                            "purpose": "Tutoring",
                            "target_ref": "T1",
                            "impact": "Reading",
                            "requested_by": "dt@bench",
                            "received_at": now,
                            "withdrawn": False,
                            "decision": None
                            if not decided
                            else ("decline" if approved == 0 else "approve"),
                            "approved_pence": approved,
                            "reason": "" if decided else None,
                            "decided_by": "advisor@bench" if decided else None,
                            "decided_at": now + timedelta(days=r) if decided else None,
                            "pays_in_term_id": pays if decided else None,
                            "held_in_term_ids": "",
                        }
                    )
    return data


async def load(engine: AsyncEngine, data: dict[str, list[dict[str, Any]]]) -> None:
    tables = (
        ("schools", schools),
        ("children", children),
        ("peps", peps),
        ("meetings", meetings),
        ("qa_rounds", qa_rounds),
        ("pp_requests", pp_requests),
        ("pp_schedules", pp_schedules),
    )
    async with engine.begin() as conn:
        for name, table in tables:
            for chunk in _chunks(data[name]):
                await conn.execute(table.insert(), chunk)
        await conn.exec_driver_sql("ANALYZE")


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered) * 1000,
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
        "max": ordered[-1] * 1000,
    }


async def run(url: str, n_children: int, runs: int) -> dict[str, Any]:
    await upgrade(url)
    engine = make_engine(url)
    try:
        data = authority(n_children)
        began = time.perf_counter()
        await load(engine, data)
        loaded = time.perf_counter() - began
        uow = SqlUnitOfWorkFactory(engine)
        calendar = default_calendar()
        rules = PepRules()
        overview = OverviewService(
            uow, calendar, rules, Clock(datetime.combine(OVERVIEW_DAY, datetime.min.time(), UTC))
        )
        for _ in range(3):
            result = await overview.overview(SYSTEM, CURRENT)
        times, fetches = [], []
        for _ in range(runs):
            started = time.perf_counter()
            async with uow() as u:
                await u.overview.facts(CURRENT)
            fetches.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = await overview.overview(SYSTEM, CURRENT)
            times.append(time.perf_counter() - started)
        pp = PupilPremiumService(
            uow,
            calendar,
            rules,
            Clock(EXPORT_AT),
            document=render_payment_schedule,
            authority_name="Bench County Council",
        )
        preview = []
        for _ in range(3):
            started = time.perf_counter()
            view = await pp.schedule(CURRENT, SYSTEM)
            preview.append(time.perf_counter() - started)
        started = time.perf_counter()
        export = await pp.export(CURRENT, SYSTEM)
        first_export = time.perf_counter() - started
        started = time.perf_counter()
        summer = await pp.export("2026-summer", SYSTEM)  # every PEP finalised
        summer_export = time.perf_counter() - started
        assert summer.schedule.reconciles()
        again = []
        for _ in range(3):
            started = time.perf_counter()
            repeat = await pp.export(CURRENT, SYSTEM)
            again.append(time.perf_counter() - started)
        assert repeat.frozen.csv == export.frozen.csv
        assert repeat.frozen.document == export.frozen.document
        assert export.schedule.reconciles()
    finally:
        await engine.dispose()
    s = export.schedule
    return {
        "children": len(data["children"]),
        "peps": len(data["peps"]),
        "requests": len(data["pp_requests"]),
        "rounds": len(data["qa_rounds"]),
        "meetings": len(data["meetings"]),
        "load_s": loaded,
        "overview": _ms(times),
        "fetch": _ms(fetches),
        "overview_counts": (
            result.children,
            result.peps,
            len(result.no_meeting_scheduled),
            len(result.overdue_returns),
        ),
        "preview": _ms(preview),
        "export_first_ms": first_export * 1000,
        "export_again": _ms(again),
        "summer_ms": summer_export * 1000,
        "summer": (
            len(summer.schedule.schools),
            len(summer.schedule.lines),
            sum(x.requests for x in summer.schedule.schools),
            summer.schedule.total_pence,
            len(summer.frozen.csv),
            len(summer.frozen.document),
        ),
        "schedule": (
            len(s.schools),
            len(s.lines),
            len(s.held),
            s.total_pence,
            export.carried,
            len(export.frozen.csv),
            len(export.frozen.document),
        ),
        "view_lines": len(view.schedule.lines),
    }


def show(name: str, r: dict[str, Any]) -> None:
    o, f, p, a = r["overview"], r["fetch"], r["preview"], r["export_again"]
    schools_n, lines, held, total, carried, csv_bytes, doc_bytes = r["schedule"]
    print(
        f"{name}: {r['children']} children, {r['peps']} PEPs, {r['rounds']} QA rounds, "
        f"{r['requests']} PP+ requests, {r['meetings']} meetings (loaded in "
        f"{r['load_s']:.1f} s)"
    )
    print(
        f"  overview            p50 {o['p50']:.1f} ms  p95 {o['p95']:.1f} ms  "
        f"max {o['max']:.1f} ms   (SQL projection alone p50 {f['p50']:.1f} ms)"
    )
    print(
        f"                      children {r['overview_counts'][0]}, PEPs "
        f"{r['overview_counts'][1]}, no meeting {r['overview_counts'][2]}, overdue "
        f"{r['overview_counts'][3]}"
    )
    print(f"  schedule preview    p50 {p['p50']:.1f} ms")
    print(
        f"  export (freeze)     {r['export_first_ms']:.1f} ms: {schools_n} schools, {lines} "
        f"children paid, {held} held, total £{total / 100:,.2f}, {carried} carried; "
        f"CSV {csv_bytes / 1024:.0f} KB, docx {doc_bytes / 1024:.0f} KB"
    )
    print(f"  export again        p50 {a['p50']:.1f} ms (the frozen files)")
    sn, sl, sr, st, sc, sd = r["summer"]
    print(
        f"  export, all final   {r['summer_ms']:.1f} ms: {sn} schools, {sl} children, "
        f"{sr} requests, total £{st / 100:,.2f}; CSV {sc / 1024:.0f} KB, "
        f"docx {sd / 1024:.0f} KB"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    async for name, url in backends(args.only):
        show(name, await run(url, args.children, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
