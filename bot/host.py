"""botbuilder's CloudAdapter, fed with requests this server has already authenticated.

The adapter runs the turn (middleware, TeamsActivityHandler, invoke responses). What
it would otherwise rebuild on every turn — a ConnectorClient and a token client,
about 45% of an echo bot's CPU here — is not built: outbound calls go through
bot/connector.py on one shared aiohttp session.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ResourceResponse
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
)

from bot.connector import Connector


class _ConnectorHandle:
    """Stands where botbuilder keeps its ConnectorClient; this bot's outbound calls go
    through the shared aiohttp Connector instead."""

    def __init__(self, connector: Connector, service_url: str) -> None:
        self.connector = connector
        self.service_url = service_url


class _Factory(ConnectorFactory):
    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    async def create(self, service_url: str, audience: str) -> Any:
        return _ConnectorHandle(self.connector, service_url)


class PreAuthenticated(BotFrameworkAuthentication):
    """Authentication is done by bot/server.py before the adapter sees the request;
    a raw header reaching here is refused."""

    def __init__(self, connector: Connector) -> None:
        self.factory = _Factory(connector)

    async def authenticate_request(self, activity: Activity, auth_header: str) -> Any:
        raise PermissionError("requests must be authenticated by the server first")

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        raise PermissionError("streaming is not supported")

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self.factory

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        return None

    def result_for(self, claims: dict[str, Any]) -> AuthenticateRequestResult:
        result = AuthenticateRequestResult()
        result.claims_identity = ClaimsIdentity(claims, True)
        result.audience = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        result.connector_factory = self.factory
        result.caller_id = None
        return result


class PepAdapter(CloudAdapter):
    def __init__(self, connector: Connector) -> None:
        self.auth = PreAuthenticated(connector)
        super().__init__(self.auth)
        self.connector = connector

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        responses = []
        for activity in activities:
            if activity.type in ("invokeResponse", "trace"):
                responses.extend(await super().send_activities(context, [activity]))
                continue
            new_id = await self.connector.send(
                context.activity.service_url, context.activity.conversation.id, activity.serialize()
            )
            responses.append(ResourceResponse(id=new_id))
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> Any:
        await self.connector.update(
            context.activity.service_url,
            context.activity.conversation.id,
            activity.id,
            activity.serialize(),
        )
        return ResourceResponse(id=activity.id)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError("expected text")


def _account(value: Any, cls: type[Any]) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    fields = {"id": _text(value.get("id")), "name": _text(value.get("name"))}
    if cls is ConversationAccount:
        fields.update(
            conversation_type=_text(value.get("conversationType")),
            tenant_id=_text(value.get("tenantId")),
            is_group=bool(value.get("isGroup")),
        )
    else:
        fields["aad_object_id"] = _text(value.get("aadObjectId"))
    return cls(**fields)


def activity_from(body: dict[str, Any]) -> Activity:
    """The Activity botbuilder's pipeline needs, from the JSON Teams posted.

    Only what the adapter and the handler's dispatch read is set: the routes work on
    the JSON itself (bot/turn.py), so msrest's full deserialisation — a tenth of a
    card action's time — is not needed. Raises ValueError for a malformed activity.
    """
    channel_data = body.get("channelData")
    if channel_data is not None and not isinstance(channel_data, dict):
        raise ValueError("channelData is not an object")
    return Activity(
        type=_text(body.get("type")),
        id=_text(body.get("id")),
        name=_text(body.get("name")),
        channel_id=_text(body.get("channelId")),
        service_url=_text(body.get("serviceUrl")),
        conversation=_account(body.get("conversation"), ConversationAccount),
        from_property=_account(body.get("from"), ChannelAccount),
        recipient=_account(body.get("recipient"), ChannelAccount),
        reply_to_id=_text(body.get("replyToId")),
        text=_text(body.get("text")),
        value=body.get("value"),
        channel_data=channel_data,
        delivery_mode=_text(body.get("deliveryMode")),
        locale=_text(body.get("locale")),
    )
