"""A local fake of the Microsoft Graph v1.0 endpoints PEP Companion uses, for tests.

An aiohttp app on 127.0.0.1 (random port), used as an async context manager; point the
real msgraph-sdk at ``fake.base_url``. Shapes and status codes follow the Graph
reference (learn.microsoft.com/graph/api):

* POST   /users/{id|upn}/events                 201 event; isOnlineMeeting +
         teamsForBusiness → onlineMeeting.joinUrl with the meeting chat's thread id
         (19:meeting_…@thread.v2, percent-encoded); transactionId de-duplicates (a repeat
         answers 201 with the event already made)
* GET    /users/{id|upn}/events/{id}            200 event ($select honoured)
* PATCH  /users/{id|upn}/events/{id}            200 event
* POST   /users/{id|upn}/events/{id}/cancel     202, no body; the event moves to Deleted
         Items, so its id answers 404 afterwards
* GET    /users/{id|upn}/onlineMeetings?$filter=JoinWebUrl eq '…'   200 collection with
         chatInfo.threadId (403 without an application access policy)
* POST   /users/{id|upn}/sendMail               202, no body; with saveToSentItems the
         message (headers included) is in the sender's Sent Items
* GET    /users/{id|upn}/mailFolders/sentitems/messages?$filter=sentDateTime ge …&$select=
         internetMessageHeaders&$top=…          200 collection, newest first, nextLink
* GET    /users/{id|upn}?$select=id             200 user / 404 Request_ResourceNotFound
* GET    /users?$filter=mail eq '…'             200 collection
* POST   /chats/{chat-id}/installedApps         201 / 409 already installed / 404
* POST   /users/{id|upn}/teamwork/installedApps 201, no body / 409 already installed /
         404 unknown user or app
* GET    /users/{id|upn}/teamwork/installedApps?$expand=teamsApp&$filter=teamsApp/id eq
         '…'                                    200 collection (teamsApp expanded)
* GET    /users/{id|upn}/teamwork/installedApps/{id}/chat   200 the personal chat
         (chatType oneOnOne, 19:…@unq.gbl.spaces)

Errors are ``{"error": {"code", "message"}}``. Every request needs ``Authorization:
Bearer <fake.token>`` (401 InvalidAuthenticationToken otherwise). There is no token
endpoint: tests give the SDK a tiny credential class returning a fixed AccessToken
(azure-identity refuses a non-https authority, so a local OAuth server is no use).

``provisioning_lag=True`` answers the create with ``onlineMeeting: null`` (the meeting
appears on the next GET); ``short_join_urls=True`` uses the new
https://teams.microsoft.com/meet/<id>?p=… links that hold no thread id;
``online_meeting_access_policy=False`` answers /onlineMeetings with 403.

Fault injection: ``fake.script(Fault(429, retry_after=7), Fault(503))`` answers the next
matching requests with those statuses (and Retry-After); ``fault_rate`` answers a seeded
random fraction of requests with ``fault_status``. Faulted requests change nothing.

State to inspect: ``users``, ``events``, ``cancelled``, ``sent_mail``,
``installed_apps``, ``user_apps`` (per user id: the apps in their personal scope),
``requests`` (every request with its JSON body and the status sent).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from tests.support.loopback import serve

GRAPH = "https://graph.microsoft.com/v1.0"
WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "Pacific Standard Time": "America/Los_Angeles",
}
MAX_REQUEST_BYTES = 4 * 1024 * 1024
Json = dict[str, Any]
JSON_BODY = web.RequestKey("json_body", dict)


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: float | None = None
    code: str = ""
    message: str = ""
    method: str | None = None  # match only this method
    path_contains: str | None = None  # match only paths containing this


@dataclass
class RecordedRequest:
    method: str
    path: str  # decoded, without the /v1.0 prefix
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class FakeUser:
    id: str
    upn: str
    mail: str
    display_name: str


@dataclass
class CatalogApp:
    id: str
    rsc_permissions: frozenset[str] = frozenset()


@dataclass
class StoredEvent:
    owner_id: str
    data: Json
    online_meeting: Json | None = None
    change: int = 0


class GraphFailure(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _lower_escapes(text: str) -> str:
    """Graph writes %3a and %40 in join URLs; urllib writes %3A."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _action_parameters(body: Json) -> Json:
    """Action parameters (sendMail's Message, cancel's Comment) by lower-case name: Graph
    matches them case-insensitively and msgraph-sdk sends them capitalised."""
    return {str(key).lower(): value for key, value in body.items()}


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class FakeGraph:
    def __init__(
        self,
        *,
        token: str = "fake-graph-token",
        short_join_urls: bool = False,
        online_meeting_access_policy: bool = True,
        provisioning_lag: bool = False,
        fault_rate: float = 0.0,
        fault_status: int = 429,
        fault_retry_after: float | None = 2.0,
        seed: int = 0,
    ) -> None:
        self.token = token
        self.tenant_id = str(uuid.uuid4())
        self.short_join_urls = short_join_urls
        self.online_meeting_access_policy = online_meeting_access_policy
        self.provisioning_lag = provisioning_lag
        self.fault_rate = fault_rate
        self.fault_status = fault_status
        self.fault_retry_after = fault_retry_after
        self._random = random.Random(seed)
        self._script: list[Fault] = []
        self.users: dict[str, FakeUser] = {}
        self.events: dict[str, StoredEvent] = {}
        self.cancelled: list[Json] = []
        self.sent_mail: list[Json] = []
        self.sent_items: dict[str, list[Json]] = {}
        self.mail_answer_delay = 0.0  # seconds between taking a mail and answering 202
        self.chats: set[str] = set()
        self.catalog: dict[str, CatalogApp] = {}
        self.installed_apps: dict[str, list[Json]] = {}
        self.user_apps: dict[str, list[Json]] = {}
        self.requests: list[RecordedRequest] = []
        self._transactions: dict[tuple[str, str], str] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- set-up and inspection -------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1.0"

    def add_user(self, email: str, display_name: str, *, upn: str | None = None) -> str:
        user = FakeUser(str(uuid.uuid4()), upn or email, email, display_name)
        self.users[user.id] = user
        return user.id

    def add_catalog_app(self, app_id: str, rsc_permissions: tuple[str, ...] = ()) -> None:
        self.catalog[app_id] = CatalogApp(app_id, frozenset(rsc_permissions))

    def script(self, *faults: Fault) -> None:
        self._script.extend(faults)

    def requests_to(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def event_for_transaction(self, owner_email: str, transaction_id: str) -> Json | None:
        owner = self._user(owner_email)
        event_id = self._transactions.get((owner.id, transaction_id))
        return self.events[event_id].data if event_id in self.events else None

    # ---- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._middleware], client_max_size=2 * MAX_REQUEST_BYTES)
        r = app.router
        r.add_post("/v1.0/users/{user}/events", self._create_event)
        r.add_get("/v1.0/users/{user}/events/{event}", self._get_event)
        r.add_patch("/v1.0/users/{user}/events/{event}", self._patch_event)
        r.add_post("/v1.0/users/{user}/events/{event}/cancel", self._cancel_event)
        r.add_get("/v1.0/users/{user}/onlineMeetings", self._online_meetings)
        r.add_post("/v1.0/users/{user}/sendMail", self._send_mail)
        r.add_get("/v1.0/users/{user}/mailFolders/{folder}/messages", self._folder_messages)
        r.add_get("/v1.0/users/{user}", self._get_user)
        r.add_get("/v1.0/users", self._list_users)
        r.add_post("/v1.0/chats/{chat}/installedApps", self._install_app)
        r.add_post("/v1.0/users/{user}/teamwork/installedApps", self._install_for_user)
        r.add_get("/v1.0/users/{user}/teamwork/installedApps", self._user_apps)
        r.add_get(
            "/v1.0/users/{user}/teamwork/installedApps/{installation}/chat", self._user_app_chat
        )
        self._runner, base_url = await serve(app)
        self.port = int(base_url.rsplit(":", 1)[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- plumbing ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        path = request.path.removeprefix("/v1.0")
        record = RecordedRequest(
            request.method, path, dict(request.query), dict(request.headers), body
        )
        self.requests.append(record)
        response = await self._answer(request, handler, body, len(raw))
        record.status = response.status
        return response

    async def _answer(
        self, request: web.Request, handler: Any, body: Any, size: int
    ) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            message = (
                "Access token is empty."
                if "Authorization" not in request.headers
                else "IDX14100: JWT is not well formed."
            )
            return self._error(401, "InvalidAuthenticationToken", message)
        fault = self._next_fault(request)
        if fault is not None:
            return fault
        if size > MAX_REQUEST_BYTES:
            return self._error(
                413, "RequestEntityTooLarge", "The maximum request length supported is 4MB."
            )
        if isinstance(body, bytes):
            return self._error(
                400,
                "BadRequest",
                "Unable to read JSON request payload. "
                "Please ensure Content-Type header is set and payload is of "
                "valid JSON format.",
            )
        request[JSON_BODY] = body if isinstance(body, dict) else {}
        try:
            response: web.StreamResponse = await handler(request)
        except GraphFailure as failure:
            return self._error(failure.status, failure.code, failure.message)
        except web.HTTPNotFound:
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            return self._error(
                400, "BadRequest", f"Resource not found for the segment '{segment}'."
            )
        except web.HTTPMethodNotAllowed:
            return self._error(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            )
        return response

    def _next_fault(self, request: web.Request) -> web.Response | None:
        for index, fault in enumerate(self._script):
            if fault.method and fault.method != request.method:
                continue
            if fault.path_contains and fault.path_contains not in request.path:
                continue
            del self._script[index]
            return self._fault_response(fault.status, fault.retry_after, fault.code, fault.message)
        if self.fault_rate and self._random.random() < self.fault_rate:
            return self._fault_response(self.fault_status, self.fault_retry_after, "", "")
        return None

    def _fault_response(
        self, status: int, retry_after: float | None, code: str, message: str
    ) -> web.Response:
        defaults = {
            429: ("TooManyRequests", "Too many requests, retry after some time."),
            503: ("ServiceNotAvailable", "Service is unavailable. Try again later."),
            504: ("GatewayTimeout", "The gateway did not receive a response in time."),
        }
        default_code, default_message = defaults.get(
            status, ("generalException", "General exception.")
        )
        response = self._error(status, code or default_code, message or default_message)
        if retry_after is not None:
            response.headers["Retry-After"] = f"{retry_after:g}"
        return response

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        inner = {
            "date": _now()[:19],
            "request-id": str(uuid.uuid4()),
            "client-request-id": str(uuid.uuid4()),
        }
        return web.json_response(
            {"error": {"code": code, "message": message, "innerError": inner}}, status=status
        )

    def _user(self, id_or_upn: str, *, code: str = "ErrorInvalidUser") -> FakeUser:
        wanted = id_or_upn.casefold()
        for user in self.users.values():
            if user.id == wanted or user.upn.casefold() == wanted:
                return user
        if code == "Request_ResourceNotFound":
            raise GraphFailure(
                404,
                code,
                f"Resource '{id_or_upn}' does not exist or one of "
                "its queried reference-property objects are not "
                "present.",
            )
        raise GraphFailure(404, code, f"The requested user '{id_or_upn}' is invalid.")

    def _owned_event(self, request: web.Request) -> StoredEvent:
        owner = self._user(request.match_info["user"])
        stored = self.events.get(request.match_info["event"])
        if stored is None or stored.owner_id != owner.id:
            raise GraphFailure(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return stored

    # ---- events ------------------------------------------------------------------------

    @staticmethod
    def _moment(value: Any, name: str) -> tuple[datetime, str]:
        if not isinstance(value, dict) or not value.get("dateTime"):
            raise GraphFailure(
                400,
                "ErrorInvalidRequest",
                f"Your request can't be completed. '{name}' is required.",
            )
        zone_name = value.get("timeZone") or "UTC"
        try:
            zone = ZoneInfo(WINDOWS_ZONES.get(zone_name, zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise GraphFailure(
                400,
                "TimeZoneNotSupportedException",
                "A valid TimeZone value must be specified. The following "
                f"TimeZone value is not supported: '{zone_name}'.",
            ) from None
        text = str(value["dateTime"])
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            naive = datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            raise GraphFailure(
                400, "UnableToDeserializePostBody", "were unable to deserialize"
            ) from None
        return naive.replace(tzinfo=zone), zone_name

    @staticmethod
    def _attendees(value: Any) -> list[Json]:
        attendees = []
        for item in value or []:
            address = ((item or {}).get("emailAddress") or {}).get("address")
            if not address:
                raise GraphFailure(
                    400, "ErrorInvalidRecipients", "At least one recipient isn't valid."
                )
            kind = str(item.get("type") or "required").lower()
            if kind not in ("required", "optional", "resource"):
                raise GraphFailure(400, "BadRequest", f"Invalid attendee type '{kind}'.")
            attendees.append(
                {
                    "type": kind,
                    "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": {
                        "name": item["emailAddress"].get("name") or address,
                        "address": address,
                    },
                }
            )
        return attendees

    def _apply(self, data: Json, body: Json) -> None:
        if "subject" in body:
            data["subject"] = body["subject"]
        if "body" in body:
            content = (body["body"] or {}).get("content") or ""
            kind = str((body["body"] or {}).get("contentType") or "text").lower()
            if kind == "html":
                content = (
                    f"<html>\r\n<head>\r\n</head>\r\n<body>\r\n{content}\r\n</body>\r\n</html>\r\n"
                )
            data["body"] = {"contentType": kind, "content": content}
            data["bodyPreview"] = re.sub(r"<[^>]+>", "", content).strip()[:255]
        for name in ("start", "end"):
            if name in body:
                moment, zone = self._moment(body[name], name)
                data[name] = {"dateTime": _graph_time(moment), "timeZone": "UTC"}
                data["originalStartTimeZone" if name == "start" else "originalEndTimeZone"] = zone
        if data["end"]["dateTime"] < data["start"]["dateTime"]:
            raise GraphFailure(
                400, "ErrorInvalidRequest", "The end date you entered occurs before the start date."
            )
        if "attendees" in body:
            data["attendees"] = self._attendees(body["attendees"])
        if "isOnlineMeeting" in body:
            data["isOnlineMeeting"] = bool(body["isOnlineMeeting"])
        if "onlineMeetingProvider" in body:
            data["onlineMeetingProvider"] = body["onlineMeetingProvider"]

    def _provision_meeting(self, stored: StoredEvent) -> None:
        data = stored.data
        if not data.get("isOnlineMeeting") or stored.online_meeting is not None:
            return
        if data.get("onlineMeetingProvider") != "teamsForBusiness":
            return
        token = base64.b64encode(secrets.token_bytes(45)).decode().rstrip("=")
        thread = "19:meeting_" + token.replace("+", "").replace("/", "")[:48] + "@thread.v2"
        context = json.dumps({"Tid": self.tenant_id, "Oid": stored.owner_id}, separators=(",", ":"))
        if self.short_join_urls:
            join = (
                f"https://teams.microsoft.com/meet/{secrets.randbelow(10**14):014d}"
                f"?p={secrets.token_urlsafe(12)}"
            )
        else:
            join = _lower_escapes(
                "https://teams.microsoft.com/l/meetup-join/"
                f"{quote(thread, safe='')}/0?context="
                f"{quote(context, safe='')}"
            )
        conference = f"{secrets.randbelow(10**9):09d}"
        data["onlineMeeting"] = {
            "joinUrl": join,
            "conferenceId": conference,
            "tollNumber": "+44 20 3855 0000",
        }
        data["onlineMeetingUrl"] = None
        stored.online_meeting = {
            "id": base64.b64encode(f"1*{stored.owner_id}*0**{thread}".encode()).decode(),
            "creationDateTime": _now(),
            "startDateTime": data["start"]["dateTime"][:19] + "Z",
            "endDateTime": data["end"]["dateTime"][:19] + "Z",
            "joinWebUrl": join,
            "subject": data.get("subject"),
            "chatInfo": {"threadId": thread, "messageId": "0", "replyChainMessageId": None},
            "joinMeetingIdSettings": {"joinMeetingId": conference, "isPasscodeRequired": True},
        }
        self.chats.add(thread)

    def _event_json(self, stored: StoredEvent, select: str | None = None) -> Json:
        owner = self.users[stored.owner_id]
        data = stored.data
        stamp = base64.b64encode(f"{data['id']}:{stored.change}".encode()).decode()
        etag = f'W/"{stamp}"'
        if select:
            names = [n.strip() for n in select.split(",") if n.strip()]
            context = f"{GRAPH}/$metadata#users('{owner.id}')/events({','.join(names)})/$entity"
            picked = {n: data.get(n) for n in names if n in data}
            return {"@odata.context": context, "@odata.etag": etag, "id": data["id"], **picked}
        return {
            "@odata.context": f"{GRAPH}/$metadata#users('{owner.id}')/events/$entity",
            "@odata.etag": etag,
            **data,
        }

    async def _create_event(self, request: web.Request) -> web.Response:
        owner = self._user(request.match_info["user"])
        body: Json = request[JSON_BODY]
        transaction = body.get("transactionId")
        if transaction:
            existing = self._transactions.get((owner.id, transaction))
            if existing in self.events:
                return web.json_response(self._event_json(self.events[existing]), status=201)
        event_id = "AAMkAG" + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode() + "="
        data: Json = {
            "id": event_id,
            "createdDateTime": _now(),
            "lastModifiedDateTime": _now(),
            "changeKey": secrets.token_urlsafe(16),
            "categories": [],
            "transactionId": transaction,
            "iCalUId": "040000008200E00074C5B7101A82E008" + secrets.token_hex(40).upper(),
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": True,
            "hasAttachments": False,
            "subject": "",
            "bodyPreview": "",
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": True,
            "showAs": "busy",
            "type": "singleInstance",
            "webLink": f"https://outlook.office365.com/owa/?itemid={quote(event_id)}"
            "&exvsurl=1&path=/calendar/item",
            "isOnlineMeeting": False,
            "onlineMeetingProvider": "unknown",
            "onlineMeeting": None,
            "allowNewTimeProposals": True,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": {"contentType": "text", "content": ""},
            "start": None,
            "end": None,
            "attendees": [],
            "organizer": {"emailAddress": {"name": owner.display_name, "address": owner.mail}},
        }
        for name in ("start", "end"):
            moment, zone = self._moment(body.get(name), name)
            data[name] = {"dateTime": _graph_time(moment), "timeZone": "UTC"}
            data["originalStartTimeZone" if name == "start" else "originalEndTimeZone"] = zone
        self._apply(data, body)
        stored = StoredEvent(owner.id, data)
        self._provision_meeting(stored)
        self.events[event_id] = stored
        if transaction:
            self._transactions[(owner.id, transaction)] = event_id
        answer = self._event_json(stored)
        if self.provisioning_lag:  # the Teams meeting shows up on the next read
            answer["onlineMeeting"] = None
        return web.json_response(answer, status=201)

    async def _get_event(self, request: web.Request) -> web.Response:
        stored = self._owned_event(request)
        return web.json_response(self._event_json(stored, request.query.get("$select")))

    async def _patch_event(self, request: web.Request) -> web.Response:
        stored = self._owned_event(request)
        body: Json = request[JSON_BODY]
        if "transactionId" in body and body["transactionId"] != stored.data["transactionId"]:
            raise GraphFailure(
                400, "ErrorInvalidRequest", "The transactionId of an event cannot be changed."
            )
        self._apply(stored.data, body)
        self._provision_meeting(stored)
        stored.change += 1
        stored.data["lastModifiedDateTime"] = _now()
        stored.data["changeKey"] = secrets.token_urlsafe(16)
        return web.json_response(self._event_json(stored))

    async def _cancel_event(self, request: web.Request) -> web.Response:
        stored = self._owned_event(request)
        comment = _action_parameters(request[JSON_BODY]).get("comment")
        stored.data["isCancelled"] = True
        del self.events[stored.data["id"]]
        self.cancelled.append({"event": stored.data, "comment": comment})
        return web.Response(status=202)

    async def _online_meetings(self, request: web.Request) -> web.Response:
        owner = self._user(request.match_info["user"])
        if not self.online_meeting_access_policy:
            raise GraphFailure(403, "Forbidden", "No application access policy found for this app.")
        query = request.query.get("$filter", "")
        match = re.fullmatch(r"\s*JoinWebUrl\s+eq\s+'((?:[^']|'')*)'\s*", query, re.I)
        if not match:
            raise GraphFailure(
                400,
                "BadRequest",
                "Filter expression expected - /onlineMeetings?$filter="
                "JoinWebUrl eq '{joinWebUrl}'.",
            )
        join = match.group(1).replace("''", "'")
        found = [
            s.online_meeting
            for s in self.events.values()
            if s.owner_id == owner.id
            and s.online_meeting is not None
            and s.online_meeting["joinWebUrl"] == join
        ]
        return web.json_response(
            {
                "@odata.context": f"{GRAPH}/$metadata#users('{owner.id}')/onlineMeetings",
                "value": found,
            }
        )

    # ---- mail --------------------------------------------------------------------------

    async def _send_mail(self, request: web.Request) -> web.Response:
        sender = self._user(request.match_info["user"])
        body = _action_parameters(request[JSON_BODY])  # Graph reads them case-insensitively
        message = body.get("message")
        if not isinstance(message, dict):
            raise GraphFailure(
                400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty."
            )
        recipients = [*(message.get("toRecipients") or []), *(message.get("ccRecipients") or [])]
        if not recipients or not all(
            ((r or {}).get("emailAddress") or {}).get("address") for r in recipients
        ):
            raise GraphFailure(
                400,
                "ErrorInvalidRecipients",
                "At least one recipient isn't valid., A message can't be "
                "sent because it contains no recipients.",
            )
        for header in message.get("internetMessageHeaders") or []:
            name = str((header or {}).get("name") or "")
            if not name.lower().startswith("x-"):
                raise GraphFailure(
                    400,
                    "InvalidInternetMessageHeader",
                    f"The internet message header name '{name}' should start with 'x-' or 'X-'.",
                )
        attachments = []
        for item in message.get("attachments") or []:
            if (item or {}).get("@odata.type") != "#microsoft.graph.fileAttachment":
                raise GraphFailure(
                    400, "ErrorInvalidParameter", "The attachment type is not supported."
                )
            try:
                content = base64.b64decode(item.get("contentBytes") or "", validate=True)
            except (binascii.Error, ValueError):
                raise GraphFailure(
                    400, "ErrorInvalidParameter", "contentBytes is not valid base64."
                ) from None
            attachments.append(
                {
                    "name": item.get("name"),
                    "contentType": item.get("contentType"),
                    "content": content,
                }
            )
        record = {
            "sender": sender.mail,
            "message": message,
            "attachments": attachments,
            "saveToSentItems": bool(body.get("savetosentitems", False)),
        }
        self.sent_mail.append(record)
        if record["saveToSentItems"]:
            self.sent_items.setdefault(sender.id, []).append(
                {
                    **message,
                    "id": f"AAMk{uuid.uuid4().hex}",
                    "sentDateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            )
        if self.mail_answer_delay:  # sent, but the caller waits for the 202
            await asyncio.sleep(self.mail_answer_delay)
        return web.Response(status=202)

    async def _folder_messages(self, request: web.Request) -> web.Response:
        """GET /users/{id}/mailFolders/{folder}/messages: only the well-known 'sentitems'
        (any case). $filter 'sentDateTime ge <DateTimeOffset>' only; $select honoured
        (id and @odata.etag always); $top (default 10, at most 1000) with an
        @odata.nextLink carrying $skip; newest first. internetMessageHeaders can be
        selected but not filtered on (Graph answers 400 ErrorInvalidProperty)."""
        owner = self._user(request.match_info["user"])
        if request.match_info["folder"].lower() != "sentitems":
            raise GraphFailure(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        query = request.query.get("$filter", "")
        if "internetmessageheaders" in query.lower():
            raise GraphFailure(
                400,
                "ErrorInvalidProperty",
                "The property 'InternetMessageHeaders' does not support filtering.",
            )
        match = re.fullmatch(r"\s*sentDateTime\s+ge\s+(\d{4}-\d\d-\d\dT[\d:.]+Z)\s*", query)
        if query and not match:
            raise GraphFailure(400, "BadRequest", "Invalid filter clause")
        since = match.group(1) if match else ""
        try:
            top = min(int(request.query.get("$top", "10")), 1000)
            skip = int(request.query.get("$skip", "0"))
        except ValueError:
            raise GraphFailure(400, "BadRequest", "Invalid $top or $skip") from None
        chosen = (
            [
                m
                for m in self.sent_items.get(owner.id, [])
                if datetime.fromisoformat(m["sentDateTime"]) >= datetime.fromisoformat(since)
            ]
            if since
            else list(self.sent_items.get(owner.id, []))
        )
        chosen.sort(key=lambda m: m["sentDateTime"], reverse=True)
        page = chosen[skip : skip + top]
        select = [n.strip() for n in request.query.get("$select", "").split(",") if n.strip()]
        value = [
            {
                "@odata.etag": f'W/"{m["id"][-8:]}"',
                "id": m["id"],
                **({n: m.get(n) for n in select} if select else m),
            }
            for m in page
        ]
        body: Json = {
            "@odata.context": f"{GRAPH}/$metadata#users('{owner.id}')/"
            "mailFolders('sentitems')/messages",
            "value": value,
        }
        if skip + top < len(chosen):
            query_items = {**request.query, "$skip": str(skip + top)}
            body["@odata.nextLink"] = str(request.url.with_query(query_items))
        return web.json_response(body)

    # ---- directory ---------------------------------------------------------------------

    @staticmethod
    def _user_json(user: FakeUser, select: str | None) -> Json:
        full: Json = {
            "id": user.id,
            "displayName": user.display_name,
            "mail": user.mail,
            "userPrincipalName": user.upn,
            "businessPhones": [],
            "givenName": None,
            "surname": None,
            "jobTitle": None,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
        }
        if not select:
            return full
        names = [n.strip() for n in select.split(",") if n.strip()]
        return {n: full.get(n) for n in names}

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self._user(request.match_info["user"], code="Request_ResourceNotFound")
        select = request.query.get("$select")
        context = (
            f"{GRAPH}/$metadata#users({select})/$entity"
            if select
            else f"{GRAPH}/$metadata#users/$entity"
        )
        return web.json_response({"@odata.context": context, **self._user_json(user, select)})

    async def _list_users(self, request: web.Request) -> web.Response:
        query = request.query.get("$filter", "")
        match = re.fullmatch(r"\s*(mail|userPrincipalName)\s+eq\s+'((?:[^']|'')*)'\s*", query)
        if query and not match:
            raise GraphFailure(
                400,
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for "
                "property of resource 'User'.",
            )
        select = request.query.get("$select")
        users = list(self.users.values())
        if match:
            prop, value = match.group(1), match.group(2).replace("''", "'").casefold()
            users = [u for u in users if (u.mail if prop == "mail" else u.upn).casefold() == value]
        context = f"{GRAPH}/$metadata#users({select})" if select else f"{GRAPH}/$metadata#users"
        return web.json_response(
            {"@odata.context": context, "value": [self._user_json(u, select) for u in users]}
        )

    # ---- Teams apps in chats -----------------------------------------------------------

    async def _install_app(self, request: web.Request) -> web.Response:
        chat = request.match_info["chat"]
        if chat not in self.chats:
            raise GraphFailure(404, "NotFound", f"Chat '{chat}' not found.")
        body: Json = request[JSON_BODY]
        bind = str(body.get("teamsApp@odata.bind") or "")
        match = re.fullmatch(r"https?://[^/]+/v1\.0/appCatalogs/teamsApps/([^/]+)", bind)
        if not match:
            raise GraphFailure(400, "BadRequest", "Invalid bind property name teamsApp in request.")
        app = self.catalog.get(match.group(1))
        if app is None:
            raise GraphFailure(
                404, "NotFound", f"The app '{match.group(1)}' was not found in the catalog."
            )
        consented = {
            p.get("permissionValue")
            for p in (
                (body.get("consentedPermissionSet") or {}).get("resourceSpecificPermissions") or []
            )
        }
        if app.rsc_permissions and consented != set(app.rsc_permissions):
            raise GraphFailure(
                400,
                "BadRequest",
                "The consented permissions do not match the resource-"
                "specific permissions of the app definition.",
            )
        installed = self.installed_apps.setdefault(chat, [])
        if any(item["teamsAppId"] == app.id for item in installed):
            raise GraphFailure(409, "Conflict", "App is already installed in this chat.")
        installation_id = base64.b64encode(f"{chat}##{app.id}".encode()).decode()
        installed.append(
            {
                "id": installation_id,
                "teamsAppId": app.id,
                "consented": sorted(c for c in consented if c),
            }
        )
        return web.json_response(
            {
                "@odata.context": f"{GRAPH}/$metadata#chats('{quote(chat)}')/installedApps/$entity",
                "id": installation_id,
            },
            status=201,
        )

    # ---- Teams apps in a user's personal scope ----------------------------------------

    def _catalog_app(self, body: Json) -> CatalogApp:
        bind = str(body.get("teamsApp@odata.bind") or "")
        match = re.fullmatch(r"https?://[^/]+/v1\.0/appCatalogs/teamsApps/([^/]+)", bind)
        if not match:
            raise GraphFailure(400, "BadRequest", "Invalid bind property name teamsApp in request.")
        app = self.catalog.get(match.group(1))
        if app is None:
            raise GraphFailure(
                404, "NotFound", f"The app '{match.group(1)}' was not found in the catalog."
            )
        return app

    def _personal_user(self, request: web.Request) -> FakeUser:
        return self._user(request.match_info["user"], code="Request_ResourceNotFound")

    async def _install_for_user(self, request: web.Request) -> web.Response:
        user = self._personal_user(request)
        app = self._catalog_app(request[JSON_BODY])
        installed = self.user_apps.setdefault(user.id, [])
        if any(item["teamsAppId"] == app.id for item in installed):
            raise GraphFailure(409, "Conflict", "App is already installed for this user.")
        installation_id = base64.b64encode(f"{user.id}##{app.id}".encode()).decode()
        installed.append(
            {
                "id": installation_id,
                "teamsAppId": app.id,
                "chatId": f"19:{user.id}_{app.id}@unq.gbl.spaces",
            }
        )
        return web.Response(status=201)

    async def _user_apps(self, request: web.Request) -> web.Response:
        user = self._personal_user(request)
        query = request.query.get("$filter", "")
        match = re.fullmatch(r"\s*teamsApp/id\s+eq\s+'((?:[^']|'')*)'\s*", query)
        if query and not match:
            raise GraphFailure(400, "BadRequest", "Invalid filter clause")
        wanted = match.group(1).replace("''", "'") if match else None
        expand = "teamsApp" in request.query.get("$expand", "")
        value = []
        for item in self.user_apps.get(user.id, []):
            if wanted is not None and item["teamsAppId"] != wanted:
                continue
            entry: Json = {"id": item["id"]}
            if expand:
                entry["teamsApp"] = {
                    "id": item["teamsAppId"],
                    "externalId": str(uuid.uuid5(uuid.NAMESPACE_URL, item["teamsAppId"])),
                    "displayName": "PEP Companion",
                    "distributionMethod": "organization",
                }
            value.append(entry)
        return web.json_response(
            {
                "@odata.context": f"{GRAPH}/$metadata#users('{user.id}')/teamwork/installedApps",
                "value": value,
            }
        )

    async def _user_app_chat(self, request: web.Request) -> web.Response:
        user = self._personal_user(request)
        wanted = request.match_info["installation"]
        for item in self.user_apps.get(user.id, []):
            if item["id"] == wanted:
                return web.json_response(
                    {
                        "@odata.context": f"{GRAPH}/$metadata#chats/$entity",
                        "id": item["chatId"],
                        "topic": None,
                        "createdDateTime": _now(),
                        "lastUpdatedDateTime": _now(),
                        "chatType": "oneOnOne",
                        "webUrl": f"https://teams.microsoft.com/l/chat/{quote(item['chatId'])}/0",
                        "tenantId": self.tenant_id,
                        "isHiddenForAllMembers": False,
                    }
                )
        raise GraphFailure(404, "NotFound", f"Installation '{wanted}' not found.")


@dataclass
class FixedTokenCredential:
    """An azure.core AsyncTokenCredential that hands out one fixed token (tests only)."""

    token: str
    calls: list[tuple[str, ...]] = field(default_factory=list)

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.calls.append(scopes)
        return AccessToken(self.token, int(datetime.now(UTC).timestamp()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
