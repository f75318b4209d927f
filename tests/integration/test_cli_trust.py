"""A command line an officer can trust: no command but `db upgrade`, `demo-data` and
`serve` creates a database; a missing file or a malformed setting is one line and exit
status 2, never a traceback; `app-package --out` is a folder and refuses the example
domain; the job names and the terms are listed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.cli import main
from pep_model.jobs import JOBS
from pep_model.terms import default_calendar
from store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GUID = "11111111-2222-3333-4444-555555555555"
READING_COMMANDS = (
    ["import-roster", str(EXAMPLES / "roster.csv")],
    ["import-staff", str(EXAMPLES / "staff.csv")],
    ["import-attendance", str(EXAMPLES / "attendance.csv")],
    ["import-previous-peps", str(EXAMPLES / "previous-peps")],
    ["forms", "new-term", "--term", "2027-spring"],
    ["report", "--term", "2026-autumn"],
    ["pupil-premium", "schedule", "--term", "2026-autumn", "--preview"],
    ["outbox", "status"],
    ["jobs", "list"],
)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder and no PEP_ settings at all (as on a new machine)."""
    for name in list(os.environ):
        if name.startswith("PEP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize("argv", READING_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_without_a_database_a_command_refuses_and_creates_nothing(
    folder: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out = capsys.readouterr()
    expected = folder / "pep-companion.sqlite3"
    assert one_line(out.err) == (
        f"pep-companion: no database at {expected}; run db upgrade or set PEP_DATABASE_URL"
    )
    assert "0 new" not in out.out
    assert not expected.exists() and list(folder.iterdir()) == []


def test_db_upgrade_creates_it_and_then_the_commands_work(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert (folder / "pep-companion.sqlite3").is_file()
    assert main(["import-roster", str(EXAMPLES / "roster.csv")]) == 0
    assert "roster: 40 new" in capsys.readouterr().out


def test_demo_data_creates_it_and_lists_the_rows_to_check(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-data", "--examples", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "1 row to check:" in out
    assert "attendance, row 41 (LCS999999): lcs_id: no child with this LCS id" in out
    # the returned-PEP mail goes to the staff file's Business Support mailbox
    assert "returned PEPs are mailed to Business Support: business.support@northvale.example" in out


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
async def test_postgresql_missing_or_not_set_up_is_refused(
    empty_database_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import Refused, prepared_container
    from bot.settings import Settings

    missing = empty_database_url.rsplit("/", 1)[0] + "/pep_no_such_database"
    for url, why in (
        (missing, "the database does not exist"),
        (empty_database_url, "it has no PEP Companion tables"),
    ):
        with pytest.raises(Refused) as refused:
            await prepared_container(Settings(_env_file=None, database_url=url))
        assert str(refused.value).startswith("no database at postgresql+asyncpg://")
        assert why in str(refused.value)
        assert "run db upgrade or set PEP_DATABASE_URL" in str(refused.value)
    await upgrade(empty_database_url)  # once set up, the same command opens it
    container = await prepared_container(Settings(_env_file=None, database_url=empty_database_url))
    await container.close()


def test_a_missing_file_is_one_line_and_status_2(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["db", "upgrade"])
    capsys.readouterr()
    for argv, expected in (
        (["import-roster", "nope.csv"], "nope.csv: no such file"),
        (["forms", "read", "gone.docx"], "gone.docx"),
        (["import-previous-peps", "no-folder"], "no-folder: no such folder"),
        (["import-staff", str(folder)], "is a folder, not a file"),
    ):
        assert main(argv) == 2, argv
        assert expected in one_line(capsys.readouterr().err)


def test_a_malformed_setting_is_one_line_naming_it(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEP_APP_ID", "not-a-guid")
    assert main(["terms"]) == 2
    line = one_line(capsys.readouterr().err)
    assert (
        line.startswith("pep-companion: PEP_APP_ID: expected the bot's Entra app id, a GUID")
        and "'not-a-guid'" in line
    )
    monkeypatch.delenv("PEP_APP_ID")
    monkeypatch.setenv("PEP_PORT", "eighty")
    assert main(["terms"]) == 2
    assert "PEP_PORT" in one_line(capsys.readouterr().err)


def test_the_installed_command_prints_no_traceback(folder: Path) -> None:
    """The real process: exit status 2 and one line on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEP_")}
    env.update(PEP_APP_ID="not-a-guid", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "outbox", "status"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "PEP_APP_ID" in one_line(done.stderr)
    env.pop("PEP_APP_ID")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "import-roster", "x.csv"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "x.csv: no such file" in one_line(done.stderr)
    assert list(folder.iterdir()) == []


def test_app_package_out_is_always_a_folder(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEP_APP_ID", GUID)
    # the example defaults are refused, naming the settings to set
    assert main(["app-package"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "PEP_PUBLIC_DOMAIN" in line and "--allow-example" in line
    assert not (folder / "out").exists()
    # a folder that does not exist (the default too) is created, the zip written in it
    assert main(["app-package", "--allow-example"]) == 0
    assert (folder / "out").is_dir()
    assert zipfile.is_zipfile(folder / "out" / "pep-companion-1.0.0.zip")
    for name, value in (
        ("PUBLIC_DOMAIN", "pep.northvale.example"),
        ("WEBSITE_URL", "https://pep.northvale.example"),
        ("PRIVACY_URL", "https://pep.northvale.example/privacy"),
        ("TERMS_URL", "https://pep.northvale.example/terms"),
    ):
        monkeypatch.setenv(f"PEP_{name}", value)
    assert main(["app-package", "--out", "teams/package"]) == 0
    assert (folder / "teams" / "package" / "pep-companion-1.0.0.zip").is_file()
    (folder / "afile").write_text("x")
    assert main(["app-package", "--out", "afile"]) == 2
    assert "is a file; give a folder" in one_line(capsys.readouterr().err)


def test_run_due_help_lists_the_jobs_and_terms_lists_the_calendar(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["jobs", "run-due", "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    for job in JOBS:
        assert job.name in help_text
    assert main(["terms"]) == 0
    out = capsys.readouterr().out
    spring = next(line for line in out.splitlines() if line.startswith("2027-spring"))
    term = default_calendar().get("2027-spring")
    assert term.half_term is not None
    assert term.start.strftime("%d/%m/%Y") in spring
    assert term.half_term.start.strftime("%d/%m/%Y") in spring
    assert len(out.splitlines()) == len(default_calendar().terms)
    assert list(folder.iterdir()) == []  # no database needed, none made


def test_a_database_one_migration_behind_is_brought_up_to_date(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import sqlite3

    from bot.cli_database import head_revision

    database = folder / "pep-companion.sqlite3"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{database}", "0003"))
    assert main(["import-roster", str(EXAMPLES / "roster.csv")]) == 0
    assert "roster: 40 new" in capsys.readouterr().out
    with sqlite3.connect(database) as db:
        [(version,)] = db.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == head_revision() and version is not None
