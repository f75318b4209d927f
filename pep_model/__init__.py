"""The PEP itself: entities, rules, the term calendar, the workflow and the use cases.

Pure: imports nothing from the other rooms, no SDK, no I/O.
"""
