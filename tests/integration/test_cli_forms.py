"""`forms read` and `forms import`: a form e-mailed back is judged by the upload's rules
and saved into its PEP as an upload would, audited as imported by the person --as."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.docx_fill import FormEditor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEACHER = "h.pemberton@littleacorns.sch.example"  # LCS100001's designated teacher


@pytest.fixture
def form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """LCS100001's form for the current term, with the voice and half a target typed."""
    monkeypatch.setenv("PEP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'pep.sqlite3'}")
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 0
    assert main(["import-roster", str(EXAMPLES / "roster.csv")]) == 0
    assert main(["forms", "new-term", "--out", str(tmp_path / "forms")]) == 0
    [blank] = (tmp_path / "forms").glob("PEP-LCS100001-*.docx")
    filled = FormEditor(blank.read_bytes())
    filled.fill_text("f:voice.views", "I want to learn to swim")
    filled.fill_text("r:targets.1.description", "Swim a width by Easter")
    path = tmp_path / "returned.docx"
    path.write_bytes(filled.save())
    capsys.readouterr()
    return path


def _json(out: str) -> dict[str, object]:
    return json.loads(out)  # type: ignore[no-any-return]


def test_read_reports_what_an_upload_would(form: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "read", str(form)]) == 1
    shown = _json(capsys.readouterr().out)
    assert shown["saved"] == ["voice", "targets"]  # would be saved; nothing is
    problems = {(p["section"], p["field"]) for p in shown["problems"]}  # type: ignore
    # a target without a date is the same problem here as in Teams
    assert ("targets", "due") in problems and ("targets", "owner") in problems
    assert main(["forms", "read", str(form)]) == 1
    assert _json(capsys.readouterr().out)["saved"] == ["voice", "targets"]


def test_import_saves_once_as_the_person_named(
    form: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forms", "import", str(form), "--as", TEACHER]) == 1  # gaps to fill
    first = _json(capsys.readouterr().out)
    assert first["saved"] == ["voice", "targets"]
    assert main(["forms", "import", str(form), "--as", TEACHER]) == 1
    again = _json(capsys.readouterr().out)
    assert again["saved"] == []  # already in the PEP: nothing written twice
    assert main(["forms", "read", str(form)]) == 1
    assert _json(capsys.readouterr().out)["saved"] == []


def test_import_refuses_someone_not_on_record(
    form: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forms", "import", str(form), "--as", "nobody@example.org"]) == 2
    assert "nobody with that e-mail is on record" in capsys.readouterr().err
    social_worker = "rachel.donnelly@northvale.example"  # LCS100001's: may import too
    assert main(["forms", "import", str(form), "--as", social_worker]) == 1
    assert _json(capsys.readouterr().out)["saved"] == ["voice", "targets"]
