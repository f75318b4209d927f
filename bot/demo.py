"""The fictional sample authority, loaded for a demo or a trial on one laptop."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.wiring import Container
from pep_model.imports import (
    import_attendance,
    import_previous_peps,
    import_roster,
    import_staff,
)
from pep_model.people import Role
from pep_model.returns import business_support_mailboxes
from pep_model.roster import parse_attendance, parse_roster, parse_staff

# The Agents Playground's user (see playground/.m365agentsplayground.yml) is, in the
# demo, the designated teacher of the sample roster's first school.
DEMO_USER_AAD_ID = "00000000-0000-0000-0000-00000000d7e1"
DEMO_CHILD = "LCS100001"


async def load_demo_data(c: Container, examples: Path) -> str:
    roster = await import_roster(
        c.uow, parse_roster((examples / "roster.csv").read_bytes().decode("utf-8-sig"))
    )
    staff = await import_staff(
        c.uow, parse_staff((examples / "staff.csv").read_bytes().decode("utf-8-sig"))
    )
    previous = c.calendar.previous(c.calendar.current_or_next(c.clock.today()))
    pdfs = []
    if previous is not None:
        folder = examples / "previous-peps"
        files = [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.pdf"))]
        pdfs = (await import_previous_peps(c.uow, previous.id, files)).stored
    attendance = await import_attendance(
        c.service,
        c.service.current_term_id(),
        parse_attendance((examples / "attendance.csv").read_bytes().decode("utf-8-sig")),
    )
    async with c.uow() as uow:
        child = await uow.children.get(DEMO_CHILD)
        teachers = (
            await uow.people.people_for_school(child.school_urn, Role.DESIGNATED_TEACHER)
            if child
            else []
        )
        if teachers:
            await uow.people.upsert(replace(teachers[0], entra_object_id=DEMO_USER_AAD_ID))
        support = business_support_mailboxes(  # as bot/m365_runtime.py chooses it
            c.settings.business_support_email or c.settings.mail_sender,
            await uow.staff.authority_wide(Role.BUSINESS_SUPPORT),
        )
        await uow.commit()
    who = teachers[0].name if teachers else "nobody"
    to_check = [
        f"  {kind}, {problem}"
        for kind, report in (("roster", roster), ("staff", staff), ("attendance", attendance))
        for problem in report.problems
    ]
    lines = [
        f"roster: {roster.created} new, {roster.updated} updated; staff: "
        f"{staff.created + staff.updated}; last term's PDFs: {len(pdfs)}; "
        f"attendance: {attendance.updated} PEPs",
        f"the Playground user acts as {who}, designated teacher",
        "returned PEPs are mailed to Business Support: "
        + (", ".join(support) or "nobody (no business_support row in staff.csv)"),
    ]
    if to_check:
        lines += [f"{rows(len(to_check))} to check:", *to_check]
    return "\n".join(lines)


def rows(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")
