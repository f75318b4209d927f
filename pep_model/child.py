"""The child, the school, and the year group that decides the kind of PEP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Phase(StrEnum):
    EARLY_YEARS = "early_years"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    POST_16 = "post_16"


class SenStatus(StrEnum):
    NONE = "none"
    SEN_SUPPORT = "sen_support"
    EHCP = "ehcp"


SEN_LABELS = {
    SenStatus.NONE: "No identified SEN",
    SenStatus.SEN_SUPPORT: "SEN support",
    SenStatus.EHCP: "EHC plan",
}

_YEAR = re.compile(r"^(?:year|yr|y)\s*(\d{1,2})$")


@dataclass(frozen=True, order=True)
class YearGroup:
    """National Curriculum year: -1 Nursery, 0 Reception, 1..13 Year 1..Year 13."""

    number: int

    def __post_init__(self) -> None:
        if not -1 <= self.number <= 13:
            raise ValueError("year group must be Nursery, Reception or Year 1 to Year 13")

    @classmethod
    def parse(cls, text: str) -> YearGroup:
        t = text.strip().lower()
        if t in {"nursery", "n", "fs1", "pre-school", "preschool"}:
            return cls(-1)
        if t in {"reception", "r", "rec", "fs2", "year r"}:
            return cls(0)
        m = _YEAR.match(t) or re.match(r"^(\d{1,2})$", t)
        if m and 1 <= int(m.group(1)) <= 13:
            return cls(int(m.group(1)))
        raise ValueError(f"'{text}' is not a year group (Nursery, Reception, Year 1 to Year 13)")

    @property
    def label(self) -> str:
        if self.number == -1:
            return "Nursery"
        if self.number == 0:
            return "Reception"
        return f"Year {self.number}"

    @property
    def phase(self) -> Phase:
        if self.number <= 0:
            return Phase.EARLY_YEARS
        if self.number <= 6:
            return Phase.PRIMARY
        if self.number <= 11:
            return Phase.SECONDARY
        return Phase.POST_16


@dataclass(frozen=True)
class School:
    urn: str
    name: str


@dataclass(frozen=True)
class Child:
    lcs_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    year_group: YearGroup
    school_urn: str
    placement_type: str = ""
    placement_start: date | None = None
    school_start_date: date | None = None
    carer_name: str = ""
    legal_status: str = ""
    sen_status: SenStatus = SenStatus.NONE
    complex_case: bool = False
    transition_flag: bool = False

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
