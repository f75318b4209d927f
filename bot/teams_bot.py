"""The botbuilder side: TeamsActivityHandler turning each TurnContext into a Turn for
the router, and the router's Reply back into messages, updates and invoke answers."""

from __future__ import annotations

import logging

import aiohttp
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ActivityTypes

from bot.connector import ConnectorError
from bot.delivery import Delivery
from bot.routing import Router
from bot.turn import ACTIVITY_BODY, Reply, Turn

log = logging.getLogger(__name__)


class PepTeamsBot(TeamsActivityHandler):
    def __init__(self, router: Router, delivery: Delivery) -> None:
        super().__init__()
        self.router = router
        self.delivery = delivery

    async def _route(self, context: TurnContext) -> Reply:
        # the JSON the server already parsed; serialising the msrest object again
        # would cost more than the rest of the turn
        body = ACTIVITY_BODY.get(None)
        turn = Turn.from_activity_dict(body if body is not None else context.activity.serialize())
        reply = await self.router.handle(turn)
        for message in reply.messages:
            try:
                await self.delivery.send(turn, message)
            except (ConnectorError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("could not post a message in %s: %s", turn.conversation_id, exc)
        for update in reply.updates:
            self.delivery.schedule_update(turn.service_url, update)
        return reply

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await self._route(turn_context)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        await self._route(turn_context)

    async def on_event_activity(self, turn_context: TurnContext) -> None:
        # meetingStart / meetingEnd / participant events: the router reads the raw value
        # (botbuilder 4.17.1 hands on_teams_meeting_start_event a plain dict anyway)
        await self._route(turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        # adaptiveCard/action is answered here: botbuilder's own path serialises the
        # body twice under CloudAdapter and answers 500
        reply = await self._route(turn_context)
        response = InvokeResponse(status=200, body=reply.invoke_body())
        # handed to the adapter directly: ActivityHandler would otherwise send it
        # through TurnContext.send_activities, which deep-copies the whole card
        turn_context.turn_state[TurnContext._INVOKE_RESPONSE_KEY] = Activity(
            type=ActivityTypes.invoke_response, value=response
        )
        return response
