"""`pep-companion pupil-premium schedule` and `pep-companion report` against a real
database: the files for finance, frozen on export, and the overview CSV."""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli_reports import EXIT_OK, EXIT_USAGE, add_commands
from bot.settings import Settings
from pep_model.pupil_premium import Decision
from pep_model.workflow import PepStatus
from tests.integration.qa_world import SqlWorld, returned_pep, set_status, sql_world
from tests.unit.qa_fixtures import ADVISOR, OTHER_ADVISOR, TERM, actor


@pytest.fixture
async def world(store_engine: AsyncEngine) -> AsyncIterator[SqlWorld]:
    yield await sql_world(store_engine)


def run(database_url: str, tmp_path: Path, *argv: str) -> tuple[argparse.Namespace, Settings]:
    parser = argparse.ArgumentParser(prog="pep-companion")
    add_commands(parser.add_subparsers(dest="command", required=True))
    settings = Settings(
        _env_file=None,
        database_url=database_url,  # type: ignore[call-arg]
        reports_dir=tmp_path / "reports",
    )
    return parser.parse_args(list(argv)), settings


async def approvals(world: SqlWorld) -> None:
    paid = await returned_pep(world, "LCS100001")
    held = await returned_pep(world, "LCS100002")
    await set_status(world, paid, PepStatus.FINALISED)
    [a] = [v.request.id for v in (await world.pp.receive(paid)).to_decide]
    [b] = [v.request.id for v in (await world.pp.receive(held)).to_decide]
    await world.pp.decide(a, actor(ADVISOR), Decision.approve_amount(12_345, "Rate"))
    await world.pp.decide(b, actor(OTHER_ADVISOR), Decision.approve())


async def test_schedule_export_writes_frozen_files(
    world: SqlWorld, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await approvals(world)
    args, settings = run(
        database_url, tmp_path, "pupil-premium", "schedule", "--term", TERM, "--preview"
    )
    assert await args.func(settings, args) == EXIT_OK
    assert "not exported yet" in capsys.readouterr().out
    assert not (tmp_path / "reports").exists()

    args, settings = run(database_url, tmp_path, "pupil-premium", "schedule", "--term", TERM)
    assert await args.func(settings, args) == EXIT_OK
    out = capsys.readouterr().out
    assert "exported and frozen now (1 approvals passed to the next term)" in out
    assert "total £123.45" in out
    folder = tmp_path / "reports" / TERM
    csv_file = folder / f"pupil-premium-plus-schedule-{TERM}.csv"
    doc_file = folder / f"pupil-premium-plus-schedule-{TERM}.docx"
    first = (csv_file.read_bytes(), doc_file.read_bytes())
    rows = list(csv.DictReader(io.StringIO(first[0].decode("utf-8"))))
    paid = [r for r in rows if r["row_type"] == "payment"]
    assert [(r["lcs_id"], r["amount_gbp"]) for r in paid] == [("LCS100001", "123.45")]
    total = next(r for r in rows if r["row_type"] == "total")
    assert sum(Decimal(r["amount_gbp"]) for r in paid) == Decimal(total["amount_gbp"])
    assert [r["lcs_id"] for r in rows if r["row_type"] == "held"] == ["LCS100002"]
    document = docx.Document(io.BytesIO(first[1]))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "LCS100001" in cells and "£123.45" in cells

    # an approval after the freeze, then the same command: the same files
    third = await returned_pep(world, "LCS100003")
    [c] = [v.request.id for v in (await world.pp.receive(third)).to_decide]
    outcome = await world.pp.decide(c, actor(ADVISOR), Decision.approve())
    assert outcome.record.pays_in_term_id == "2027-spring"
    other = tmp_path / "again"
    args, settings = run(
        database_url, tmp_path, "pupil-premium", "schedule", "--term", TERM, "--out", str(other)
    )
    assert await args.func(settings, args) == EXIT_OK
    assert "already frozen" in capsys.readouterr().out
    assert ((other / csv_file.name).read_bytes(), (other / doc_file.name).read_bytes()) == first


async def test_a_term_that_is_not_in_the_calendar(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, settings = run(
        database_url, tmp_path, "pupil-premium", "schedule", "--term", "1999-autumn"
    )
    assert await args.func(settings, args) == EXIT_USAGE
    assert "not in the authority's term calendar" in capsys.readouterr().err
    args, settings = run(database_url, tmp_path, "report", "--term", "nonsense")
    assert await args.func(settings, args) == EXIT_USAGE


async def test_report_writes_the_overview_csv(
    world: SqlWorld, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await approvals(world)
    target = tmp_path / "out" / "overview.csv"
    args, settings = run(database_url, tmp_path, "report", "--term", TERM, "--out", str(target))
    assert await args.func(settings, args) == EXIT_OK
    text = target.read_text("utf-8")
    assert text.startswith("term_id,item,lcs_id,school_urn,detail,value\n")
    assert f"{TERM},children,,,,3\n" in text
    assert f"{TERM},pp_approved_gbp,,,,423.45\n" in text
    assert "Fenwick" not in text
    args, settings = run(database_url, tmp_path, "report", "--term", TERM)
    assert await args.func(settings, args) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[2:4] == [
        f"{TERM},children,,,,3",
        f"{TERM},peps,,,,2",
    ]
