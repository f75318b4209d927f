"""After QA approves a PEP: the finalised record — the PEP with its QA grade and the Pupil
Premium Plus decisions, marked as the version to file — goes to Business Support, the
child's social worker(s) and the school's designated teacher(s), through the outbox.

The version Business Support received at the return (before QA) stays as it was
(pep_model.returns.FINAL_RECORD); this one is stored beside it (FINALISED_RECORD).
Called from QA's approve route (bot/qa_routes.py, after the decision is committed) and
safe to call again: the outbox key carries the PEP's version, so one finalisation sends
one mail.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.after_meeting import with_qa_settings
from bot.paperwork import form_data
from forms.final_record import render_final_record
from pep_model.pep import document_name
from pep_model.quality import QaPolicy
from pep_model.returns import finalised_facts
from pep_model.workflow import PepStatus

if TYPE_CHECKING:
    from bot.m365_runtime import M365Runtime

log = logging.getLogger(__name__)


async def send_finalised_record(runtime: M365Runtime, pep_id: str) -> str | None:
    """Render the finalised record and queue its mail; the outbox key, or None when the
    PEP is not finalised (nothing is sent)."""
    c = runtime.container
    scale = QaPolicy.from_rules(with_qa_settings(c.rules, c.settings)).scale
    async with c.uow() as uow:
        pep = await uow.peps.get(pep_id)
        if pep is None or pep.status is not PepStatus.FINALISED:
            return None
        facts = finalised_facts(
            await uow.qa.rounds(pep_id),
            await uow.pupil_premium.for_pep(pep_id),
            scale.display_label,
        )
        if facts is None:
            return None
        data = await form_data(uow, c.service, pep, c.settings.authority_name)
    content = render_final_record(data, facts)
    name = document_name(pep.child_id, pep.term_id).replace(".docx", "-finalised.docx")
    key = await runtime.returns.send_finalised_record(pep_id, name, content, facts)
    runtime.dispatcher.wake()
    log.info("finalised record of %s queued: %s", pep_id, key)
    return key
