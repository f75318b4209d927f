"""The Microsoft 365 ports on Microsoft Graph (msgraph-sdk), application permissions.

Build the client with graph.client.make_graph_client (no RetryHandler): every failure
comes back as a DeliveryError at once and the outbox dispatcher decides when to retry.
Logs carry event ids, chat ids, idempotency keys and Graph's status/code only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.file_attachment import FileAttachment
from msgraph.generated.models.internet_message_header import InternetMessageHeader
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.teams_app_installation import TeamsAppInstallation
from msgraph.generated.models.teams_app_permission_set import TeamsAppPermissionSet
from msgraph.generated.models.teams_app_resource_specific_permission import (
    TeamsAppResourceSpecificPermission,
)
from msgraph.generated.models.teams_app_resource_specific_permission_type import (
    TeamsAppResourceSpecificPermissionType,
)
from msgraph.generated.models.user_scope_teams_app_installation import (
    UserScopeTeamsAppInstallation,
)
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import (
    CancelPostRequestBody,
)
from msgraph.generated.users.item.events.item.event_item_request_builder import (
    EventItemRequestBuilder,
)
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph.generated.users.item.online_meetings.online_meetings_request_builder import (
    OnlineMeetingsRequestBuilder,
)
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
    SendMailPostRequestBody,
)
from msgraph.generated.users.item.teamwork.installed_apps.installed_apps_request_builder import (
    InstalledAppsRequestBuilder,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from graph.errors import GRAPH_FAILURES, to_delivery_error
from graph.meeting_chat import odata_string, thread_id_from_join_url
from graph.permissions import MEETING_RSC_PERMISSIONS
from pep_model.m365 import (
    DeliveryError,
    Invitee,
    MailMessage,
    MeetingInvite,
    ScheduledMeeting,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

IDEMPOTENCY_HEADER = "x-pep-idempotency-key"
SENT_ITEMS_PAGE = 100  # messages per page when looking for a mail in Sent Items
SENT_ITEMS_PAGES = 20
MAX_INLINE_ATTACHMENT_BYTES = 3 * 1024 * 1024  # sendMail's inline limit per attachment
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # Graph's limit on one request, base64 included
_REQUEST_OVERHEAD = 4096  # JSON around the message: recipients, headers, names


async def _graph(call: Awaitable[T]) -> T:
    """Await one SDK call; every Graph, network or token failure becomes DeliveryError."""
    try:
        return await call
    except GRAPH_FAILURES as error:
        raise to_delivery_error(error) from error


def _wall_clock(moment: datetime, time_zone: str) -> DateTimeTimeZone:
    local = moment.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)
    return DateTimeTimeZone(date_time=local.isoformat(timespec="seconds"), time_zone=time_zone)


def _attendee(invitee: Invitee) -> Attendee:
    return Attendee(
        email_address=EmailAddress(address=invitee.email, name=invitee.name),
        type=AttendeeType.Required if invitee.required else AttendeeType.Optional,
    )


def _event_fields(invite: MeetingInvite) -> Event:
    return Event(
        subject=invite.subject,
        body=ItemBody(content_type=BodyType.Html, content=invite.body_html),
        start=_wall_clock(invite.start, invite.time_zone),
        end=_wall_clock(invite.end, invite.time_zone),
        attendees=[_attendee(a) for a in invite.attendees],
    )


class GraphCalendar:
    """Events with Teams meetings in the organiser's calendar (Calendars.ReadWrite).

    find_chat_via_online_meetings: when the join URL holds no thread id (short join
    URLs), ask /users/{organiser}/onlineMeetings for chatInfo.threadId — needs
    OnlineMeetings.Read.All and an application access policy; without them chat_id is
    None and a warning is logged.
    """

    def __init__(
        self, client: GraphServiceClient, *, find_chat_via_online_meetings: bool = True
    ) -> None:
        self._client = client
        self._find_chat = find_chat_via_online_meetings

    def _event(self, organiser: str, event_id: str) -> EventItemRequestBuilder:
        return self._client.users.by_user_id(organiser).events.by_event_id(event_id)

    async def create_meeting(self, invite: MeetingInvite) -> ScheduledMeeting:
        body = _event_fields(invite)
        body.is_online_meeting = True
        body.online_meeting_provider = OnlineMeetingProviderType.TeamsForBusiness
        body.transaction_id = invite.idempotency_key  # Graph answers a repeat with the same event
        events = self._client.users.by_user_id(invite.organiser_email).events
        created = await _graph(events.post(body))
        event = self._require(created)
        log.info("graph event created: event=%s key=%s", event.id, invite.idempotency_key)
        return await self._scheduled(invite.organiser_email, event)

    async def update_meeting(self, event_id: str, invite: MeetingInvite) -> ScheduledMeeting:
        updated = await _graph(
            self._event(invite.organiser_email, event_id).patch(_event_fields(invite))
        )
        event = self._require(updated, event_id)
        log.info("graph event updated: event=%s key=%s", event_id, invite.idempotency_key)
        return await self._scheduled(invite.organiser_email, event)

    async def cancel_meeting(self, event_id: str, organiser_email: str, comment: str) -> None:
        try:
            await _graph(
                self._event(organiser_email, event_id).cancel.post(
                    CancelPostRequestBody(comment=comment)
                )
            )
        except DeliveryError as error:
            # Cancel moves the event to Deleted Items, so its id no longer resolves: a
            # retried cancel whose first answer was lost gets 404. Nothing left to do.
            if error.status != 404:
                raise
            log.info("graph event already gone, cancel is done: event=%s", event_id)
            return
        log.info("graph event cancelled: event=%s", event_id)

    async def add_attendee(self, event_id: str, organiser_email: str, invitee: Invitee) -> None:
        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
            select=["attendees"]
        )
        current = await _graph(
            self._event(organiser_email, event_id).get(RequestConfiguration(query_parameters=query))
        )
        existing = (current.attendees if current else None) or []
        wanted = invitee.email.casefold()
        if any(
            a.email_address and (a.email_address.address or "").casefold() == wanted
            for a in existing
        ):
            log.info("graph attendee already invited: event=%s", event_id)
            return
        # Send back address, name and type only: status is read-only.
        attendees = [
            Attendee(
                email_address=EmailAddress(
                    address=a.email_address.address, name=a.email_address.name
                ),
                type=a.type or AttendeeType.Required,
            )
            for a in existing
            if a.email_address is not None
        ]
        attendees.append(_attendee(invitee))
        await _graph(self._event(organiser_email, event_id).patch(Event(attendees=attendees)))
        log.info("graph attendee added: event=%s attendees=%d", event_id, len(attendees))

    @staticmethod
    def _require(event: Event | None, event_id: str | None = None) -> Event:
        if event is None or not event.id:
            raise DeliveryError(
                "Graph answered without an event", status=502, retryable=True, code="NoEvent"
            )
        if event_id is not None and event.id != event_id:
            log.info("graph event id changed: %s -> %s", event_id, event.id)
        return event

    async def _scheduled(self, organiser: str, event: Event) -> ScheduledMeeting:
        assert event.id is not None
        if event.online_meeting is None or not event.online_meeting.join_url:
            # Teams provisioning can lag the create; read the event once more.
            query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
                select=["id", "iCalUId", "onlineMeeting"]
            )
            again = await _graph(
                self._event(organiser, event.id).get(RequestConfiguration(query_parameters=query))
            )
            if again is not None:
                event.online_meeting = again.online_meeting
                event.i_cal_u_id = event.i_cal_u_id or again.i_cal_u_id
        join_url = event.online_meeting.join_url if event.online_meeting else None
        chat_id = thread_id_from_join_url(join_url)
        if chat_id is None and join_url and self._find_chat:
            chat_id = await self._chat_from_online_meeting(organiser, event.id, join_url)
        if join_url is None:
            log.warning("graph event has no Teams meeting yet: event=%s", event.id)
        return ScheduledMeeting(
            event_id=event.id, join_url=join_url, chat_id=chat_id, ical_uid=event.i_cal_u_id or ""
        )

    async def _chat_from_online_meeting(
        self, organiser: str, event_id: str, join_url: str
    ) -> str | None:
        query = OnlineMeetingsRequestBuilder.OnlineMeetingsRequestBuilderGetQueryParameters(
            filter=f"JoinWebUrl eq {odata_string(join_url)}"
        )
        try:
            found = await _graph(
                self._client.users.by_user_id(organiser).online_meetings.get(
                    RequestConfiguration(query_parameters=query)
                )
            )
        except DeliveryError as error:
            if error.retryable:
                raise  # the create/update is idempotent: let the dispatcher try again
            log.warning(
                "graph meeting chat not found for event=%s (%s %s): grant "
                "OnlineMeetings.Read.All and an application access policy",
                event_id,
                error.status,
                error.code,
            )
            return None
        for meeting in (found.value if found else None) or []:
            if meeting.chat_info and meeting.chat_info.thread_id:
                return meeting.chat_info.thread_id
        log.warning("graph meeting chat not found for event=%s (no onlineMeeting)", event_id)
        return None


class GraphMailbox:
    """POST /users/{sender}/sendMail (Mail.Send), inline file attachments up to 3 MB each,
    a copy in the sender's Sent Items."""

    def __init__(
        self, client: GraphServiceClient, *, max_attachment_bytes: int = MAX_INLINE_ATTACHMENT_BYTES
    ) -> None:
        self._client = client
        self._max_attachment_bytes = max_attachment_bytes

    async def send(self, message: MailMessage) -> None:
        count = len(message.attachments)
        for index, attachment in enumerate(message.attachments, start=1):
            size = len(attachment.content)
            if size > self._max_attachment_bytes:
                # Name the attachment by position only: its file name may name a child.
                raise DeliveryError(
                    f"attachment {index} of {count} is {size / 1048576:.1f} MB; Graph "
                    f"sendMail takes inline attachments up to "
                    f"{self._max_attachment_bytes / 1048576:.0f} MB each — send a link "
                    f"instead",
                    status=413,
                    retryable=False,
                    code="AttachmentTooLarge",
                )
        encoded = (
            _REQUEST_OVERHEAD
            + len(message.subject.encode()) * 2
            + len(message.body_text.encode()) * 2
            + sum(4 * -(-len(a.content) // 3) for a in message.attachments)
        )
        if encoded > MAX_REQUEST_BYTES:
            raise DeliveryError(
                f"the message is {encoded / 1048576:.1f} MB once encoded; Graph sendMail "
                f"takes requests up to {MAX_REQUEST_BYTES / 1048576:.0f} MB — send fewer or "
                f"smaller attachments, or a link",
                status=413,
                retryable=False,
                code="MessageTooLarge",
            )
        body = SendMailPostRequestBody(
            message=Message(
                subject=message.subject,
                body=ItemBody(content_type=BodyType.Text, content=message.body_text),
                to_recipients=[
                    Recipient(email_address=EmailAddress(address=a)) for a in message.to
                ],
                cc_recipients=[Recipient(email_address=EmailAddress(address=a)) for a in message.cc]
                or None,
                attachments=[
                    FileAttachment(name=a.name, content_type=a.media_type, content_bytes=a.content)
                    for a in message.attachments
                ]
                or None,
                internet_message_headers=[
                    InternetMessageHeader(name=IDEMPOTENCY_HEADER, value=message.idempotency_key)
                ],
            ),
            save_to_sent_items=True,
        )
        await _graph(self._client.users.by_user_id(message.sender).send_mail.post(body))
        log.info("graph mail sent: key=%s attachments=%d", message.idempotency_key, count)

    async def already_sent(self, message: MailMessage, since: datetime) -> bool:
        """Whether the sender's Sent Items holds a message with this idempotency header
        sent at or after `since` (Mail.Read on that mailbox). Graph cannot
        $filter on internetMessageHeaders, so the messages sent since then are read with
        their headers and looked at here, page by page (at most SENT_ITEMS_PAGES)."""
        messages = (
            self._client.users.by_user_id(message.sender)
            .mail_folders.by_mail_folder_id("sentitems")
            .messages
        )
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"sentDateTime ge {stamp}",
            select=["internetMessageHeaders"],
            top=SENT_ITEMS_PAGE,
        )
        page = await _graph(messages.get(RequestConfiguration(query_parameters=query)))
        for _ in range(SENT_ITEMS_PAGES):
            for item in (page.value if page else None) or []:
                for header in item.internet_message_headers or []:
                    if (
                        header.name or ""
                    ).lower() == IDEMPOTENCY_HEADER and header.value == message.idempotency_key:
                        return True
            link = page.odata_next_link if page else None
            if not link:
                return False
            page = await _graph(messages.with_url(link).get())
        log.warning(
            "graph sent items: more than %d pages since %s; key=%s not found",
            SENT_ITEMS_PAGES,
            stamp,
            message.idempotency_key,
        )
        return False


class GraphDirectory:
    """User object ids (User.Read.All): by user principal name first, then by mail."""

    def __init__(self, client: GraphServiceClient) -> None:
        self._client = client

    async def object_id_for(self, email: str) -> str | None:
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id"])
        try:
            user = await _graph(
                self._client.users.by_user_id(email).get(
                    RequestConfiguration(query_parameters=query)
                )
            )
            if user is not None and user.id:
                return user.id
        except DeliveryError as error:
            if error.status != 404:
                raise
        # The address may be a mail address that is not the UPN.
        search = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            filter=f"mail eq {odata_string(email)}", select=["id"]
        )
        found = await _graph(self._client.users.get(RequestConfiguration(query_parameters=search)))
        for candidate in (found.value if found else None) or []:
            if candidate.id:
                return candidate.id
        return None


class GraphChatApp:
    """Installs the Teams app (the bot) in a chat, e.g. a meeting chat, or in a user's
    personal scope (install_for_user, TeamsAppInstallation.ReadWriteForUser.All) so the
    bot can message someone who never wrote to it.

    teams_app_id is the app's id in the organisation's app catalog (for a custom app this
    is NOT the manifest id: GET /appCatalogs/teamsApps?$filter=externalId eq '<manifest
    id>'). The app declares resource-specific permissions, so installing needs consent
    to them: TeamsAppInstallation.ReadWriteAndConsentSelfForChat.All (or
    ...AndConsentForChat.All); see docs/graph.md.
    """

    def __init__(
        self,
        client: GraphServiceClient,
        teams_app_id: str,
        *,
        rsc_permissions: Sequence[str] = MEETING_RSC_PERMISSIONS,
    ) -> None:
        if not teams_app_id:
            raise ValueError("PEP_TEAMS_APP_ID is required to install the app in chats")
        self._client = client
        self._teams_app_id = teams_app_id
        self._rsc_permissions = tuple(rsc_permissions)

    async def install_app(self, chat_id: str) -> None:
        base = self._client.request_adapter.base_url.rstrip("/")
        body = TeamsAppInstallation(
            additional_data={
                "teamsApp@odata.bind": f"{base}/appCatalogs/teamsApps/{self._teams_app_id}"
            }
        )
        if self._rsc_permissions:
            body.consented_permission_set = TeamsAppPermissionSet(
                resource_specific_permissions=[
                    TeamsAppResourceSpecificPermission(
                        permission_value=name,
                        permission_type=TeamsAppResourceSpecificPermissionType.Application,
                    )
                    for name in self._rsc_permissions
                ]
            )
        try:
            await _graph(self._client.chats.by_chat_id(chat_id).installed_apps.post(body))
        except DeliveryError as error:
            if error.status != 409:
                raise
            log.info("graph app already installed: chat=%s", chat_id)
            return
        log.info("graph app installed: chat=%s", chat_id)

    async def install_for_user(self, user_id: str) -> str | None:
        """POST /users/{id}/teamwork/installedApps (TeamsAppInstallation.ReadWriteForUser
        .All); 409 means it is there already. Then the installation for this app
        (GET …/installedApps?$expand=teamsApp&$filter=teamsApp/id eq '…') and its
        personal chat (GET …/installedApps/{installation}/chat): the chat id, or None
        when Graph lists no installation (the bot can still message the user by id)."""
        apps = self._client.users.by_user_id(user_id).teamwork.installed_apps
        base = self._client.request_adapter.base_url.rstrip("/")
        body = UserScopeTeamsAppInstallation(
            additional_data={
                "teamsApp@odata.bind": f"{base}/appCatalogs/teamsApps/{self._teams_app_id}"
            }
        )
        try:
            await _graph(apps.post(body))
            log.info("graph app installed for user=%s", user_id)
        except DeliveryError as error:
            if error.status != 409:
                raise
            log.info("graph app already installed for user=%s", user_id)
        query = InstalledAppsRequestBuilder.InstalledAppsRequestBuilderGetQueryParameters(
            expand=["teamsApp"], filter=f"teamsApp/id eq {odata_string(self._teams_app_id)}"
        )
        found = await _graph(apps.get(RequestConfiguration(query_parameters=query)))
        for installation in (found.value if found else None) or []:
            if installation.id:
                chat = await _graph(
                    apps.by_user_scope_teams_app_installation_id(installation.id).chat.get()
                )
                return chat.id if chat is not None else None
        log.warning("graph lists no installation of the app for user=%s", user_id)
        return None
