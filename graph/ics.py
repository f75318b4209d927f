"""Meeting invitations as iCalendar (RFC 5545) with iTIP methods (RFC 5546), built and
read with the icalendar package. Used by the outbox folder (graph/outbox_files.py).

A file holds one VEVENT: METHOD:REQUEST for a new or changed meeting (SEQUENCE grows by
one each time), METHOD:CANCEL with STATUS:CANCELLED for a cancelled one; the VTIMEZONE
for the meeting's zone (Europe/London) is included so any calendar client places it
right. X-PEP-IDEMPOTENCY-KEY records which request produced the file; X-ALT-DESC carries
the HTML agenda beside the plain-text DESCRIPTION (as Outlook writes it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from pep_model.m365 import Invitee, MeetingInvite

PRODID = "-//PEP Companion//Outbox folder//EN"
IDEMPOTENCY_PROPERTY = "X-PEP-IDEMPOTENCY-KEY"
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"}


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _unescape_text(value: str) -> str:
    """RFC 5545 TEXT unescaping, for X- properties icalendar leaves raw."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


@dataclass(frozen=True)
class Invitation:
    """What one .ics file says about the meeting."""

    method: str
    uid: str
    sequence: int
    invite: MeetingInvite  # idempotency_key: the request that wrote the file
    join_url: str


def invitation_ics(
    *,
    method: str,
    uid: str,
    sequence: int,
    invite: MeetingInvite,
    join_url: str,
    stamp: datetime,
    comment: str | None = None,
) -> bytes:
    zone = ZoneInfo(invite.time_zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add("calscale", "GREGORIAN")

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", invite.start.astimezone(zone))
    event.add("dtend", invite.end.astimezone(zone))
    event.add("summary", invite.subject)
    description = html_to_text(invite.body_html)
    if comment:
        description = f"{comment}\n\n{description}"
    event.add(
        "description",
        f"{description}\n\nJoin: {join_url}\n(Offline outbox: this "
        "is a placeholder, there is no Teams meeting behind it.)",
    )
    event.add("x-alt-desc", vText(invite.body_html), parameters={"FMTTYPE": "text/html"})
    event.add("location", "Microsoft Teams meeting")
    event.add("url", join_url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if comment:
        event.add("comment", comment)
    event.add(IDEMPOTENCY_PROPERTY.lower(), invite.idempotency_key)
    event.add("organizer", vCalAddress(f"mailto:{invite.organiser_email}"))
    for invitee in invite.attendees:
        address = vCalAddress(f"mailto:{invitee.email}")
        address.params["CN"] = vText(invitee.name)
        address.params["CUTYPE"] = vText("INDIVIDUAL")
        address.params["ROLE"] = vText("REQ-PARTICIPANT" if invitee.required else "OPT-PARTICIPANT")
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
        event.add("attendee", address)
    calendar.add_component(event)
    margin = timedelta(days=400)
    calendar.add_missing_timezones(
        first_date=(invite.start - margin).date(), last_date=(invite.end + margin).date()
    )
    for timezone in calendar.timezones:
        timezone.pop("COMMENT", None)  # icalendar notes the span it generated
    data: bytes = calendar.to_ical()
    return data


def _address(value: object) -> str:
    return re.sub(r"^mailto:", "", str(value), flags=re.I)


def read_invitation(data: bytes) -> Invitation:
    calendar = Calendar.from_ical(data)
    event = calendar.walk("VEVENT")[0]
    start = event.decoded("dtstart")
    end = event.decoded("dtend")
    tzid = event["dtstart"].params.get("TZID") or "UTC"
    attendees = event.get("attendee") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    invitees = tuple(
        Invitee(
            email=_address(a),
            name=str(a.params.get("CN") or _address(a)),
            required=str(a.params.get("ROLE", "REQ-PARTICIPANT")) != "OPT-PARTICIPANT",
        )
        for a in attendees
    )
    html = event.get("x-alt-desc")
    invite = MeetingInvite(
        idempotency_key=str(event.get(IDEMPOTENCY_PROPERTY.lower()) or "?"),
        organiser_email=_address(event["organizer"]),
        subject=str(event.get("summary") or ""),
        body_html=_unescape_text(str(html)) if html is not None else "",
        start=start,
        end=end,
        attendees=invitees,
        time_zone=str(tzid),
    )
    return Invitation(
        method=str(calendar.get("method") or ""),
        uid=str(event["uid"]),
        sequence=int(event.get("sequence") or 0),
        invite=invite,
        join_url=str(event.get("url") or ""),
    )
