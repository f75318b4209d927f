"""One child's PEP for one term."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pep_model.sections import SECTION_KEYS, Content, empty_content
from pep_model.workflow import PepStatus


def pep_id_for(child_id: str, term_id: str) -> str:
    return f"{child_id}-{term_id}"


# the media type of a .docx (forms, records), for mail attachments and stored documents
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def document_name(child_id: str, term_id: str, extension: str = "docx") -> str:
    """The file name of a child's PEP document for a term (form, record, PDF)."""
    return f"PEP-{child_id}-{term_id}.{extension}"


@dataclass
class MeetingLink:
    """The Teams meeting a PEP is discussed in, once scheduled or started."""

    event_id: str = ""
    join_url: str = ""
    chat_id: str = ""  # the meeting's group chat (conversation id)
    starts_at: str = ""  # ISO 8601 with offset
    card_message_id: str = ""  # the walkthrough card in the meeting chat
    meeting_id: str = ""  # Teams meeting id (for the participant API)
    audience: str = ""  # comma-separated Teams user ids allowed to see the PEP

    def audience_ids(self) -> list[str]:
        return [a for a in self.audience.split(",") if a]

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MeetingLink | None:
        if not data:
            return None
        return cls(**{k: str(v or "") for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Pep:
    child_id: str
    term_id: str
    status: PepStatus = PepStatus.DRAFT
    version: int = 0
    sections: dict[str, Content] = field(default_factory=dict)
    # the PEP version at which each section last changed: lets two people edit
    # different sections at once without a false conflict
    section_versions: dict[str, int] = field(default_factory=dict)
    current_section: str = SECTION_KEYS[0]
    meeting: MeetingLink | None = None
    meeting_held_on: date | None = None
    return_due: date | None = None

    @property
    def id(self) -> str:
        return pep_id_for(self.child_id, self.term_id)

    def walkthrough_in(self, chat_id: str) -> bool:
        """The meeting's walkthrough is running, in this chat."""
        return (
            self.status is PepStatus.IN_MEETING
            and self.meeting is not None
            and self.meeting.chat_id == chat_id
        )

    def section(self, key: str) -> Content:
        return self.sections.get(key) or empty_content(key)
