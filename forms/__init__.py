"""Word documents for the PEP: the new-term form, reading a completed form back, and
the final record after the meeting.

Forms never list the PEP's fields: they iterate ``pep_model.sections.SECTIONS``.
"""
