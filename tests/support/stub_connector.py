"""A local Bot Connector: records what the bot posts, answers like the real service
(ids for new activities, members, meeting participants, conversation creation), and
takes file uploads for the file-consent flow."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.loopback import serve


@dataclass
class Posted:
    method: str
    conversation_id: str
    activity_id: str
    body: dict[str, Any]


@dataclass
class StubConnector:
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> member
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)  # aad id -> info
    posted: list[Posted] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # shared with the bot by users
    downloads: list[str] = field(default_factory=list)  # file names the bot fetched
    redirects: dict[str, str] = field(default_factory=dict)  # file name -> Location (302)
    unsized: set[str] = field(default_factory=set)  # files sent chunked, without a size
    # like Teams: a message larger than this (UTF-16 bytes of its JSON) is refused, 413
    message_limit: int | None = None
    refused: list[Posted] = field(default_factory=list)
    base_url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> StubConnector:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        r = app.router
        r.add_post("/v3/conversations/{conv}/activities", self._post)
        r.add_post("/v3/conversations/{conv}/activities/{aid}", self._post)
        r.add_put("/v3/conversations/{conv}/activities/{aid}", self._put)
        r.add_post("/v3/conversations", self._create)
        r.add_get("/v3/conversations/{conv}/members/{uid}", self._member)
        r.add_get("/v1/meetings/{mid}/participants/{pid}", self._participant)
        r.add_put("/upload/{name}", self._upload)
        r.add_get("/files/{name}", self._file)
        self._runner, self.base_url = await serve(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _too_large(self, request: web.Request, method: str, aid: str) -> bool:
        body = await request.json()
        size = len(json.dumps(body, ensure_ascii=False).encode("utf-16-le", "surrogatepass"))
        if self.message_limit is None or size <= self.message_limit:
            return False
        self.refused.append(Posted(method, request.match_info["conv"], aid, body))
        return True

    async def _post(self, request: web.Request) -> web.Response:
        new_id = f"msg-{next(self._ids)}"
        if await self._too_large(request, "POST", new_id):
            return web.json_response({"error": {"code": "MessageSizeTooBig"}}, status=413)
        self.posted.append(Posted("POST", request.match_info["conv"], new_id, await request.json()))
        return web.json_response({"id": new_id}, status=201)

    async def _put(self, request: web.Request) -> web.Response:
        aid = request.match_info["aid"]
        if await self._too_large(request, "PUT", aid):
            return web.json_response({"error": {"code": "MessageSizeTooBig"}}, status=413)
        self.posted.append(Posted("PUT", request.match_info["conv"], aid, await request.json()))
        return web.json_response({"id": aid})

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.created.append(body)
        return web.json_response({"id": f"a:personal-{body['members'][0]['id']}"}, status=201)

    async def _member(self, request: web.Request) -> web.Response:
        member = self.members.get(request.match_info["uid"])
        if member is None:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        return web.json_response(member)

    async def _participant(self, request: web.Request) -> web.Response:
        info = self.participants.get(request.match_info["pid"])
        if info is None or "tenantId" not in request.query:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        return web.json_response(info)

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["name"]] = await request.read()
        return web.json_response({"id": "uploaded"}, status=201)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.downloads.append(name)
        if name in self.redirects:
            raise web.HTTPFound(self.redirects[name])
        content = self.files.get(name)
        if content is None:
            return web.Response(status=404)
        if name not in self.unsized:
            return web.Response(body=content)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for start in range(0, len(content), 1024 * 1024):
                await response.write(content[start : start + 1024 * 1024])
        except (ConnectionResetError, ConnectionError):
            pass  # the bot stopped reading
        return response

    def file_attachment(self, name: str, content: bytes) -> dict[str, Any]:
        """What Teams attaches when a user sends the bot a file in personal chat."""
        self.files[name] = content
        return {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "name": name,
            "contentUrl": f"https://contoso.invalid/{name}",
            "content": {
                "downloadUrl": f"{self.base_url}/files/{name}",
                "uniqueId": name,
                "fileType": name.rsplit(".", 1)[-1],
            },
        }

    # --- what tests read ---
    def cards(
        self, conversation_id: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        found = []
        for p in self.posted:
            if conversation_id and p.conversation_id != conversation_id:
                continue
            if method and p.method != method:
                continue
            for a in p.body.get("attachments") or []:
                if a.get("contentType") == "application/vnd.microsoft.card.adaptive":
                    found.append(a["content"])
        return found

    def attachments(self, content_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (p.conversation_id, a)
            for p in self.posted
            for a in p.body.get("attachments") or []
            if a.get("contentType") == content_type
        ]
