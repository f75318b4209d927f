"""Finding the Teams meeting chat (its thread id, 19:meeting_…@thread.v2) of an event.

Graph's event resource has no chat id: event.onlineMeeting (onlineMeetingInfo) carries
joinUrl, conferenceId and phone numbers only. Two ways, both with application permissions:

1. The classic join URL has the thread id as its path segment after /meetup-join/,
   percent-encoded: https://teams.microsoft.com/l/meetup-join/19%3ameeting_…%40thread.v2/0
   ?context=… — needs nothing beyond Calendars.ReadWrite.
2. Teams is moving scheduled meetings to short join URLs (message center MC772556:
   https://teams.microsoft.com/meet/<id>?p=<passcode>) that hold no thread id. Then
   GET /users/{organiser}/onlineMeetings?$filter=JoinWebUrl eq '<joinUrl>' answers the
   onlineMeeting whose chatInfo.threadId is the chat — needs OnlineMeetings.Read.All and
   a Teams application access policy granted to the organiser.

thread_id_from_join_url does (1); the Graph calendar falls back to (2).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_THREAD = re.compile(r"^19:[A-Za-z0-9_\-=.]+@thread\.(v2|skype|tacv2)$")


def thread_id_from_join_url(join_url: str | None) -> str | None:
    if not join_url:
        return None
    segments = urlsplit(join_url).path.split("/")
    try:
        candidate = segments[segments.index("meetup-join") + 1]
    except (ValueError, IndexError):
        return None
    for _ in range(3):  # single-encoded in joinUrl; double-encoded in some invitations
        decoded = unquote(candidate)
        if decoded == candidate:
            break
        candidate = decoded
    return candidate if _THREAD.match(candidate) else None


def odata_string(value: str) -> str:
    """A string literal for $filter: single quotes doubled (OData ABNF)."""
    return "'" + value.replace("'", "''") + "'"
