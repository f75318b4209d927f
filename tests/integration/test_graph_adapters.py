"""The Graph adapters, with the real msgraph-sdk, against the local fake Graph."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from msgraph import GraphServiceClient

from graph.client import close_graph_client, make_graph_client
from graph.msgraph_adapters import (
    IDEMPOTENCY_HEADER,
    GraphCalendar,
    GraphChatApp,
    GraphDirectory,
    GraphMailbox,
)
from graph.permissions import MEETING_RSC_PERMISSIONS
from pep_model.m365 import (
    DeliveryError,
    Invitee,
    MailAttachment,
    MailMessage,
    MeetingInvite,
)
from tests.support.fake_graph import FakeGraph, Fault, FixedTokenCredential

LONDON = ZoneInfo("Europe/London")
SOCIAL_WORKER = "sam.worker@northvale.gov.uk"
BUSINESS_SUPPORT = "pep.business-support@northvale.gov.uk"
APP_ID = "5b3c7a2e-6f1d-4c8e-9a0b-1d2e3f405162"
SUBJECT = "PEP meeting — Child A"  # stands in for text that must never be logged
AGENDA = "<p>Agenda</p><ol><li>Child's voice</li><li>Targets</li></ol>"


@dataclass
class Graph:
    fake: FakeGraph
    client: GraphServiceClient
    social_worker_id: str


async def _open(fake: FakeGraph, token: str | None = None) -> AsyncIterator[Graph]:
    async with fake:
        social_worker = fake.add_user(SOCIAL_WORKER, "Sam Worker")
        fake.add_user(BUSINESS_SUPPORT, "PEP Business Support")
        fake.add_catalog_app(APP_ID, MEETING_RSC_PERMISSIONS)
        client = make_graph_client(FixedTokenCredential(token or fake.token), fake.base_url)
        try:
            yield Graph(fake, client, social_worker)
        finally:
            await close_graph_client(client)


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    async for opened in _open(FakeGraph()):
        yield opened


def invite(key: str = "pep-1:meeting", **changes: object) -> MeetingInvite:
    values: dict[str, object] = dict(
        idempotency_key=key,
        organiser_email=SOCIAL_WORKER,
        subject=SUBJECT,
        body_html=AGENDA,
        start=datetime(2026, 11, 16, 10, 0, tzinfo=LONDON),
        end=datetime(2026, 11, 16, 11, 0, tzinfo=LONDON),
        attendees=(
            Invitee("dt@oakfield.sch.uk", "Dana Teacher"),
            Invitee("carer@example.org", "Chris Carer", required=False),
        ),
    )
    values.update(changes)
    return MeetingInvite(**values)  # type: ignore[arg-type]


def mail(key: str = "pep-1:pack", **changes: object) -> MailMessage:
    values: dict[str, object] = dict(
        idempotency_key=key,
        sender=BUSINESS_SUPPORT,
        to=("dt@oakfield.sch.uk",),
        cc=("sam.worker@northvale.gov.uk",),
        subject="Term pack",
        body_text="Please find the PEP attached.",
        attachments=(
            MailAttachment(
                "PEP autumn 2026.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                b"PK\x03\x04 form",
            ),
        ),
    )
    values.update(changes)
    return MailMessage(**values)  # type: ignore[arg-type]


# ---- calendar ------------------------------------------------------------------------


async def test_create_posts_a_teams_event_and_returns_its_meeting(graph: Graph) -> None:
    meeting = await GraphCalendar(graph.client).create_meeting(invite())

    [post] = graph.fake.requests_to("POST", r"/users/[^/]+/events$")
    assert post.path == f"/users/{SOCIAL_WORKER}/events"
    assert post.headers["Authorization"] == f"Bearer {graph.fake.token}"
    body = post.body
    assert body["isOnlineMeeting"] is True
    assert body["onlineMeetingProvider"] == "teamsForBusiness"
    assert body["transactionId"] == "pep-1:meeting"
    assert body["subject"] == SUBJECT
    assert body["body"] == {"contentType": "html", "content": AGENDA}
    assert body["start"] == {"dateTime": "2026-11-16T10:00:00", "timeZone": "Europe/London"}
    assert body["end"] == {"dateTime": "2026-11-16T11:00:00", "timeZone": "Europe/London"}
    assert [
        (a["emailAddress"]["address"], a["emailAddress"]["name"], a["type"])
        for a in body["attendees"]
    ] == [
        ("dt@oakfield.sch.uk", "Dana Teacher", "required"),
        ("carer@example.org", "Chris Carer", "optional"),
    ]

    [stored] = graph.fake.events.values()
    assert meeting.event_id == stored.data["id"]
    assert meeting.join_url == stored.data["onlineMeeting"]["joinUrl"]
    assert meeting.join_url.startswith("https://teams.microsoft.com/l/meetup-join/19%3ameeting_")
    assert stored.online_meeting is not None
    assert meeting.chat_id == stored.online_meeting["chatInfo"]["threadId"]
    assert meeting.chat_id.startswith("19:meeting_") and meeting.chat_id.endswith("@thread.v2")
    assert meeting.ical_uid == stored.data["iCalUId"]
    assert stored.data["start"] == {"dateTime": "2026-11-16T10:00:00.0000000", "timeZone": "UTC"}


async def test_summer_times_are_sent_as_london_wall_clock(graph: Graph) -> None:
    await GraphCalendar(graph.client).create_meeting(
        invite(
            start=datetime(2026, 6, 10, 9, 0, tzinfo=UTC),
            end=datetime(2026, 6, 10, 10, 0, tzinfo=UTC),
        )
    )
    [post] = graph.fake.requests_to("POST", r"/events$")
    assert post.body["start"] == {"dateTime": "2026-06-10T10:00:00", "timeZone": "Europe/London"}
    [stored] = graph.fake.events.values()
    assert stored.data["start"]["dateTime"] == "2026-06-10T09:00:00.0000000"


async def test_a_repeated_create_with_the_same_key_makes_one_event(graph: Graph) -> None:
    calendar = GraphCalendar(graph.client)
    first = await calendar.create_meeting(invite())
    again = await calendar.create_meeting(invite())

    assert again == first
    assert len(graph.fake.events) == 1
    posts = graph.fake.requests_to("POST", r"/events$")
    assert [p.body["transactionId"] for p in posts] == ["pep-1:meeting", "pep-1:meeting"]
    other = await calendar.create_meeting(invite("pep-2:meeting"))
    assert other.event_id != first.event_id and len(graph.fake.events) == 2


async def test_a_meeting_still_being_provisioned_is_read_again() -> None:
    async for graph in _open(FakeGraph(provisioning_lag=True)):
        meeting = await GraphCalendar(graph.client).create_meeting(invite())
        [get] = graph.fake.requests_to("GET", r"/events/[^/]+$")
        assert set(get.query["$select"].split(",")) == {"id", "iCalUId", "onlineMeeting"}
        assert meeting.join_url and meeting.chat_id and meeting.chat_id.startswith("19:meeting_")


async def test_short_join_urls_find_the_chat_through_online_meetings() -> None:
    async for graph in _open(FakeGraph(short_join_urls=True)):
        meeting = await GraphCalendar(graph.client).create_meeting(invite())
        assert meeting.join_url and meeting.join_url.startswith("https://teams.microsoft.com/meet/")
        [lookup] = graph.fake.requests_to("GET", r"/onlineMeetings$")
        assert lookup.path == f"/users/{SOCIAL_WORKER}/onlineMeetings"
        assert lookup.query["$filter"] == f"JoinWebUrl eq '{meeting.join_url}'"
        [stored] = graph.fake.events.values()
        assert stored.online_meeting is not None
        assert meeting.chat_id == stored.online_meeting["chatInfo"]["threadId"]


async def test_without_an_access_policy_the_chat_is_unknown_but_the_meeting_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async for graph in _open(FakeGraph(short_join_urls=True, online_meeting_access_policy=False)):
        meeting = await GraphCalendar(graph.client).create_meeting(invite())
        assert meeting.chat_id is None and meeting.join_url
        assert len(graph.fake.events) == 1
        assert "application access policy" in caplog.text


async def test_a_throttled_chat_lookup_is_retryable_and_the_retry_reuses_the_event() -> None:
    async for graph in _open(FakeGraph(short_join_urls=True)):
        graph.fake.script(Fault(429, retry_after=3, path_contains="onlineMeetings"))
        calendar = GraphCalendar(graph.client)
        with pytest.raises(DeliveryError) as caught:
            await calendar.create_meeting(invite())
        assert caught.value.retryable and caught.value.retry_after == 3
        meeting = await calendar.create_meeting(invite())
        assert meeting.chat_id and len(graph.fake.events) == 1


async def test_update_patches_the_event(graph: Graph) -> None:
    calendar = GraphCalendar(graph.client)
    meeting = await calendar.create_meeting(invite())
    moved = invite(
        "pep-1:meeting:move-1",
        subject="PEP meeting (moved)",
        start=datetime(2026, 11, 18, 14, 0, tzinfo=LONDON),
        end=datetime(2026, 11, 18, 15, 30, tzinfo=LONDON),
    )
    updated = await calendar.update_meeting(meeting.event_id, moved)

    [patch] = graph.fake.requests_to("PATCH", r"/events/")
    assert patch.path == f"/users/{SOCIAL_WORKER}/events/{meeting.event_id}"
    assert "transactionId" not in patch.body and "isOnlineMeeting" not in patch.body
    assert patch.body["subject"] == "PEP meeting (moved)"
    assert patch.body["start"] == {"dateTime": "2026-11-18T14:00:00", "timeZone": "Europe/London"}
    assert patch.body["end"] == {"dateTime": "2026-11-18T15:30:00", "timeZone": "Europe/London"}
    assert updated == meeting
    assert (
        graph.fake.events[meeting.event_id]
        .data["start"]["dateTime"]
        .startswith("2026-11-18T14:00:00")
    )


async def test_update_of_an_unknown_event_is_not_retryable(graph: Graph) -> None:
    with pytest.raises(DeliveryError) as caught:
        await GraphCalendar(graph.client).update_meeting("AAMkAGnope=", invite())
    assert caught.value.status == 404 and not caught.value.retryable
    assert caught.value.code == "ErrorItemNotFound"


async def test_cancel_posts_the_comment_and_a_second_cancel_is_fine(graph: Graph) -> None:
    calendar = GraphCalendar(graph.client)
    meeting = await calendar.create_meeting(invite())
    await calendar.cancel_meeting(meeting.event_id, SOCIAL_WORKER, "The PEP is rearranged.")
    await calendar.cancel_meeting(meeting.event_id, SOCIAL_WORKER, "The PEP is rearranged.")

    cancels = graph.fake.requests_to("POST", r"/cancel$")
    assert [c.status for c in cancels] == [202, 404]
    assert cancels[0].path == f"/users/{SOCIAL_WORKER}/events/{meeting.event_id}/cancel"
    assert cancels[0].body == {"Comment": "The PEP is rearranged."}
    [cancelled] = graph.fake.cancelled
    assert cancelled["comment"] == "The PEP is rearranged."
    assert meeting.event_id not in graph.fake.events


async def test_add_attendee_keeps_everyone_and_is_idempotent(graph: Graph) -> None:
    calendar = GraphCalendar(graph.client)
    meeting = await calendar.create_meeting(invite())
    virtual_school = Invitee("vs.member@northvale.gov.uk", "Vic Virtual")
    await calendar.add_attendee(meeting.event_id, SOCIAL_WORKER, virtual_school)
    await calendar.add_attendee(
        meeting.event_id, SOCIAL_WORKER, Invitee("VS.Member@northvale.gov.uk", "Vic Virtual")
    )

    gets = graph.fake.requests_to("GET", r"/events/[^/]+$")
    assert len(gets) == 2 and gets[0].query == {"$select": "attendees"}
    [patch] = graph.fake.requests_to("PATCH", r"/events/")
    assert set(patch.body) <= {"@odata.type", "attendees"}
    assert [(a["emailAddress"]["address"], a["type"]) for a in patch.body["attendees"]] == [
        ("dt@oakfield.sch.uk", "required"),
        ("carer@example.org", "optional"),
        ("vs.member@northvale.gov.uk", "required"),
    ]
    assert all("status" not in a for a in patch.body["attendees"])
    stored = graph.fake.events[meeting.event_id].data
    assert len(stored["attendees"]) == 3


# ---- mail --------------------------------------------------------------------------


async def test_send_mail_with_an_attachment(graph: Graph) -> None:
    message = mail()
    await GraphMailbox(graph.client).send(message)

    [post] = graph.fake.requests_to("POST", r"/sendMail$")
    assert post.path == f"/users/{BUSINESS_SUPPORT}/sendMail"
    assert post.status == 202
    assert post.body["SaveToSentItems"] is True
    sent = post.body["Message"]
    assert sent["subject"] == "Term pack"
    assert sent["body"] == {"contentType": "text", "content": "Please find the PEP attached."}
    assert [r["emailAddress"]["address"] for r in sent["toRecipients"]] == ["dt@oakfield.sch.uk"]
    assert [r["emailAddress"]["address"] for r in sent["ccRecipients"]] == [
        "sam.worker@northvale.gov.uk"
    ]
    assert sent["internetMessageHeaders"] == [{"name": IDEMPOTENCY_HEADER, "value": "pep-1:pack"}]
    [attachment] = sent["attachments"]
    assert attachment["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert attachment["name"] == "PEP autumn 2026.docx"
    assert attachment["contentType"].endswith("wordprocessingml.document")
    assert base64.b64decode(attachment["contentBytes"]) == b"PK\x03\x04 form"

    [record] = graph.fake.sent_mail
    assert record["attachments"][0]["content"] == b"PK\x03\x04 form"
    assert len(graph.fake.sent_items[next(iter(graph.fake.sent_items))]) == 1


async def test_an_attachment_over_3_mb_is_refused_before_sending(graph: Graph) -> None:
    big = MailAttachment("Child A full record.pdf", "application/pdf", b"x" * (3 * 1024 * 1024 + 1))
    with pytest.raises(DeliveryError) as caught:
        await GraphMailbox(graph.client).send(mail(attachments=(big,)))
    error = caught.value
    assert error.status == 413 and not error.retryable
    assert "3 MB" in error.message and "attachment 1 of 1" in error.message
    assert "Child A" not in str(error)
    assert graph.fake.requests == []


async def test_a_large_attachment_under_the_limits_is_sent(graph: Graph) -> None:
    form = MailAttachment("form.pdf", "application/pdf", bytes(range(256)) * 10240)  # 2.5 MB
    await GraphMailbox(graph.client).send(mail(attachments=(form,)))
    [record] = graph.fake.sent_mail
    assert record["attachments"][0]["content"] == form.content


async def test_attachments_over_graphs_4_mb_request_are_refused_before_sending(
    graph: Graph,
) -> None:
    half = MailAttachment("part.pdf", "application/pdf", b"x" * (1536 * 1024))
    with pytest.raises(DeliveryError) as caught:
        await GraphMailbox(graph.client).send(mail(attachments=(half, half)))
    assert caught.value.status == 413 and not caught.value.retryable
    assert "4 MB" in caught.value.message
    assert graph.fake.requests == []


# ---- directory and chat app ---------------------------------------------------------


async def test_directory_finds_object_ids(graph: Graph) -> None:
    directory = GraphDirectory(graph.client)
    assert await directory.object_id_for(SOCIAL_WORKER) == graph.social_worker_id
    [get] = graph.fake.requests_to("GET", r"^/users/[^/]+$")
    assert get.query == {"$select": "id"}

    other = graph.fake.add_user(
        "pat.o'neil@northvale.gov.uk", "Pat O'Neil", upn="poneil@northvale.onmicrosoft.com"
    )
    assert await directory.object_id_for("pat.o'neil@northvale.gov.uk") == other
    [search] = graph.fake.requests_to("GET", r"^/users$")
    assert search.query["$filter"] == "mail eq 'pat.o''neil@northvale.gov.uk'"

    assert await directory.object_id_for("nobody@northvale.gov.uk") is None


async def test_install_app_in_the_meeting_chat(graph: Graph) -> None:
    meeting = await GraphCalendar(graph.client).create_meeting(invite())
    assert meeting.chat_id is not None
    chat_app = GraphChatApp(graph.client, APP_ID)
    await chat_app.install_app(meeting.chat_id)
    await chat_app.install_app(meeting.chat_id)  # 409: already installed, fine

    posts = graph.fake.requests_to("POST", r"/installedApps$")
    assert [p.status for p in posts] == [201, 409]
    assert posts[0].path == f"/chats/{meeting.chat_id}/installedApps"
    assert posts[0].body["teamsApp@odata.bind"] == (
        f"{graph.fake.base_url}/appCatalogs/teamsApps/{APP_ID}"
    )
    consented = posts[0].body["consentedPermissionSet"]["resourceSpecificPermissions"]
    assert {(p["permissionValue"], p["permissionType"]) for p in consented} == {
        (name, "application") for name in MEETING_RSC_PERMISSIONS
    }
    assert [a["teamsAppId"] for a in graph.fake.installed_apps[meeting.chat_id]] == [APP_ID]


async def test_install_app_in_an_unknown_chat_fails(graph: Graph) -> None:
    with pytest.raises(DeliveryError) as caught:
        await GraphChatApp(graph.client, APP_ID).install_app("19:meeting_nope@thread.v2")
    assert caught.value.status == 404 and not caught.value.retryable


# ---- failures ------------------------------------------------------------------------


async def test_429_is_retryable_with_retry_after_and_not_retried_by_the_sdk(graph: Graph) -> None:
    graph.fake.script(Fault(429, retry_after=7, method="POST"))
    with pytest.raises(DeliveryError) as caught:
        await GraphMailbox(graph.client).send(mail())
    error = caught.value
    assert (error.status, error.retryable, error.retry_after) == (429, True, 7.0)
    assert error.code == "TooManyRequests"
    assert len(graph.fake.requests) == 1 and graph.fake.sent_mail == []


@pytest.mark.parametrize("status", [503, 504])
async def test_503_and_504_are_retryable(graph: Graph, status: int) -> None:
    graph.fake.script(Fault(status, retry_after=2 if status == 503 else None))
    with pytest.raises(DeliveryError) as caught:
        await GraphCalendar(graph.client).create_meeting(invite())
    error = caught.value
    assert error.status == status and error.retryable
    assert error.retry_after == (2.0 if status == 503 else None)
    assert len(graph.fake.requests) == 1 and graph.fake.events == {}


async def test_other_5xx_is_retryable(graph: Graph) -> None:
    graph.fake.script(Fault(500))
    with pytest.raises(DeliveryError) as caught:
        await GraphDirectory(graph.client).object_id_for(SOCIAL_WORKER)
    assert caught.value.status == 500 and caught.value.retryable


async def test_400_is_not_retryable_and_carries_graphs_message(graph: Graph) -> None:
    with pytest.raises(DeliveryError) as caught:
        await GraphMailbox(graph.client).send(mail(to=("",), cc=()))
    error = caught.value
    assert error.status == 400 and not error.retryable and error.retry_after is None
    assert error.code == "ErrorInvalidRecipients"
    assert error.message.startswith("At least one recipient isn't valid.")


async def test_a_scripted_400_is_not_retryable(graph: Graph) -> None:
    graph.fake.script(
        Fault(400, code="ErrorInvalidRequest", message="Your request can't be completed.")
    )
    with pytest.raises(DeliveryError) as caught:
        await GraphCalendar(graph.client).create_meeting(invite())
    assert (caught.value.status, caught.value.retryable) == (400, False)
    assert caught.value.message == "Your request can't be completed."


async def test_a_rejected_token_is_not_retryable() -> None:
    async for graph in _open(FakeGraph(), token="not-the-token"):
        with pytest.raises(DeliveryError) as caught:
            await GraphDirectory(graph.client).object_id_for(SOCIAL_WORKER)
        assert caught.value.status == 401 and not caught.value.retryable
        assert caught.value.code == "InvalidAuthenticationToken"


async def test_a_fraction_of_throttled_requests_each_fail_once_and_change_nothing() -> None:
    async for graph in _open(FakeGraph(fault_rate=0.4, fault_retry_after=5, seed=7)):
        mailbox = GraphMailbox(graph.client)
        failures = 0
        for number in range(20):
            try:
                await mailbox.send(mail(f"pep-{number}:pack"))
            except DeliveryError as error:
                assert error.status == 429 and error.retryable and error.retry_after == 5
                failures += 1
        assert 0 < failures < 20
        assert len(graph.fake.requests) == 20  # nothing retried behind our back
        assert len(graph.fake.sent_mail) == 20 - failures


async def test_an_unreachable_graph_is_retryable() -> None:
    async with FakeGraph() as fake:
        base_url, token = fake.base_url, fake.token
    client = make_graph_client(FixedTokenCredential(token), base_url)
    try:
        with pytest.raises(DeliveryError) as caught:
            await GraphDirectory(client).object_id_for(SOCIAL_WORKER)
        assert caught.value.status == 0 and caught.value.retryable
    finally:
        await close_graph_client(client)


async def test_logs_carry_ids_not_content(graph: Graph, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    calendar = GraphCalendar(graph.client)
    meeting = await calendar.create_meeting(invite())
    await calendar.add_attendee(
        meeting.event_id, SOCIAL_WORKER, Invitee("vs.member@northvale.gov.uk", "Vic Virtual")
    )
    await GraphMailbox(graph.client).send(mail())
    text = caplog.text
    assert meeting.event_id in text
    for secret in (
        SUBJECT,
        "Child's voice",
        "Dana Teacher",
        "Vic Virtual",
        "PEP autumn 2026.docx",
        "Please find the PEP",
    ):
        assert secret not in text
