"""A PEP form e-mailed back into the inbox folder (PEP_INBOX_DIR) is saved into its PEP
as the sender, the message is moved out of the folder and the sender is answered once,
in words; a sender not on record has nothing saved and is told why."""

from __future__ import annotations

import json
import sqlite3
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.docx_fill import FormEditor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEACHER = "h.pemberton@littleacorns.sch.example"  # LCS100001's designated teacher
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A database with the roster, an inbox folder and an offline outbox folder; returns
    LCS100001's form for the current term with the voice typed in."""
    monkeypatch.setenv("PEP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'pep.sqlite3'}")
    monkeypatch.setenv("PEP_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.setenv("PEP_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inbox").mkdir()
    assert main(["db", "upgrade"]) == 0
    assert main(["import-roster", str(EXAMPLES / "roster.csv")]) == 0
    assert main(["forms", "new-term", "--out", str(tmp_path / "forms")]) == 0
    [blank] = (tmp_path / "forms").glob("PEP-LCS100001-*.docx")
    filled = FormEditor(blank.read_bytes())
    filled.fill_text("f:voice.views", "I want to learn to swim")
    path = tmp_path / "returned.docx"
    path.write_bytes(filled.save())
    capsys.readouterr()
    return path


def _email(
    tmp_path: Path,
    name: str,
    sender: str,
    files: list[tuple[str, bytes]],
    message_id: str = "<pep-1@littleacorns.sch.example>",
) -> Path:
    message = EmailMessage()
    message["From"] = f"Harriet Pemberton <{sender}>"
    message["To"] = "business.support@northvale.example"
    message["Subject"] = "Ada's PEP"
    message["Message-ID"] = message_id
    message.set_content("Please find the PEP form attached.")
    for filename, data in files:
        maintype, subtype = (
            DOCX.split("/") if filename.endswith(".docx") else ("application", "msword")
        )
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    path = tmp_path / "inbox" / name
    path.write_bytes(message.as_bytes(policy=policy.default))
    return path


def _replies(tmp_path: Path) -> list[EmailMessage]:
    found = sorted((tmp_path / "outbox").rglob("*.eml"))
    parsed = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in found]
    return [m for m in parsed if isinstance(m, EmailMessage)]


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _audited_sources(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "pep.sqlite3") as db:
        rows = db.execute("SELECT after FROM audit_log").fetchall()
    return [
        s
        for (after,) in rows
        if after
        for s in [json.loads(after).get("source")]
        if isinstance(s, str)
    ]


def test_a_school_emails_a_filled_form_it_is_saved_once_and_answered_once(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = _email(tmp_path, "1.eml", TEACHER, [("PEP-LCS100001.docx", world.read_bytes())])
    assert main(["inbox", "import"]) == 0
    assert "1 form(s) saved" in capsys.readouterr().out
    assert not eml.exists() and (tmp_path / "inbox" / "done" / "1.eml").exists()
    [reply] = _replies(tmp_path)
    assert reply["To"] == TEACHER and reply["Subject"] == "Re: Ada's PEP"
    body = _body(reply)
    assert "Saved: The child's voice." in body  # the section's title, not its key
    assert "awaiting" not in body and "Traceback" not in body
    main(["forms", "read", str(world)])
    assert '"saved": []' in capsys.readouterr().out  # already in the PEP
    assert _audited_sources(tmp_path) == [f"e-mail from {TEACHER}, PEP-LCS100001.docx"]

    # the same message dropped in again: nothing imported or answered twice
    (tmp_path / "inbox" / "done" / "1.eml").replace(tmp_path / "inbox" / "again.eml")
    assert main(["inbox", "import"]) == 0
    assert "1 already answered; 0 form(s) saved" in capsys.readouterr().out
    assert len(_replies(tmp_path)) == 1
    assert (tmp_path / "inbox" / "done" / "again.eml").exists()


def test_a_sender_not_on_record_has_nothing_saved_and_is_told_why(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _email(
        tmp_path,
        "stranger.eml",
        "someone@elsewhere.example",
        [("PEP-LCS100001.docx", world.read_bytes())],
    )
    assert main(["inbox", "import"]) == 0
    assert (tmp_path / "inbox" / "refused" / "stranger.eml").exists()
    [reply] = _replies(tmp_path)
    assert reply["To"] == "someone@elsewhere.example"
    assert "is not on record" in _body(reply) and "Nothing" in _body(reply)
    assert _audited_sources(tmp_path) == []
    capsys.readouterr()
    main(["forms", "read", str(world)])
    assert '"saved": [\n    "voice"' in capsys.readouterr().out  # still not in the PEP


def test_an_old_word_file_is_asked_for_as_docx_by_the_scheduled_job(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _email(tmp_path, "old.eml", TEACHER, [("PEP-LCS100001.doc", b"\xd0\xcf\x11\xe0old")])
    assert main(["jobs", "run-due", "--job", "inbox_import", "--force"]) == 0
    assert "inbox_import: 1 message(s): 0 read, 1 refused" in capsys.readouterr().out
    assert (tmp_path / "inbox" / "refused" / "old.eml").exists()
    [reply] = _replies(tmp_path)
    assert (
        "PEP-LCS100001.doc is an old Word file. In Word choose File > Save As and save "
        "it as Word Document (.docx), not Word 97-2003, then send it again."
        in " ".join(_body(reply).split())
    )
