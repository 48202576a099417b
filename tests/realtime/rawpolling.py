"""A long-polling session speaking HTTP requests by hand."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from .harness import TIMEOUT, Harness


# --- a long-polling session, request by request ----------------------------------------------


class HttpError(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(status, body)
        self.status, self.body = status, body


def split_payload(body: str) -> list[str]:
    return body.split("\x1e")


class Poller:
    """A hand-driven Engine.IO long-polling session over aiohttp's HTTP client: what a plain
    HTTP user sees."""

    def __init__(self, harness: Harness, session: aiohttp.ClientSession, headers: dict | None = None):
        self.harness = harness
        self.session = session
        self.headers = headers or {}
        self.sid: str | None = None
        self.handshake: dict | None = None
        self.pending: list[str] = []  # packets received but not yet read

    @classmethod
    async def open(cls, harness: Harness, session: aiohttp.ClientSession, *, query: str = "",
                   headers: dict | None = None) -> "Poller":
        poller = cls(harness, session, headers)
        url = harness.polling_url("EIO=4&transport=polling" + (f"&{query}" if query else ""))
        async with session.get(url, headers=poller.headers) as resp:
            assert resp.status == 200, (resp.status, await resp.text())
            assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
            packets = split_payload(await resp.text())
        assert packets[0].startswith("0{"), packets
        poller.handshake = json.loads(packets[0][1:])
        poller.sid = poller.handshake["sid"]
        poller.pending.extend(packets[1:])
        return poller

    @property
    def url(self) -> str:
        return self.harness.polling_url(f"EIO=4&transport=polling&sid={self.sid}")

    async def get_raw(self, timeout: float = TIMEOUT) -> tuple[int, str, Any]:
        async with self.session.get(self.url, headers=self.headers, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status, await resp.text(), resp.headers

    async def get(self, timeout: float = TIMEOUT) -> list[str]:
        """One poll: the packets of one GET answer (asserted 200)."""
        status, body, headers = await self.get_raw(timeout)
        if status != 200:
            raise HttpError(status, json.loads(body) if body.startswith("{") else body)
        assert headers["Content-Type"] == "text/plain; charset=UTF-8", headers
        return split_payload(body)

    async def post_raw(self, body: str | bytes, headers: dict | None = None, **kw) -> tuple[int, str]:
        headers = {"Content-Type": "text/plain;charset=UTF-8", **self.headers, **(headers or {})}
        async with self.session.post(self.url, data=body, headers=headers, **kw) as resp:
            return resp.status, await resp.text()

    async def post(self, *packets: str) -> None:
        """POST packets in one body (asserted `200 ok`)."""
        status, text = await self.post_raw("\x1e".join(packets))
        assert (status, text) == (200, "ok"), (status, text)

    async def recv(self, timeout: float = TIMEOUT, *, answer_pings: bool = True) -> str:
        """The next packet, polling as needed; noops are skipped, pings answered unless told otherwise."""
        while True:
            while self.pending:
                packet = self.pending.pop(0)
                if packet == "6":
                    continue
                if packet == "2" and answer_pings:
                    await self.post("3")
                    continue
                return packet
            self.pending.extend(await self.get(timeout))

    async def connect(self, token: str | None) -> dict:
        """POST `40{"token":...}` → the `40{"sid":...}` reply (asserted)."""
        await self.post("40" + (json.dumps({"token": token}) if token is not None else ""))
        reply = await self.recv()
        assert reply.startswith("40{"), reply
        return json.loads(reply[2:])


class PollWatch:
    """Tells a test when the server has taken a request of a polling session in hand, by
    wrapping the gateway's polling entry: `held()` starts a GET and returns its task only
    once the server holds it (or is answering it), `entered()` does the same for any request,
    so that what the test does next reaches the server after it."""

    def __init__(self, gateway):
        self.gateway = gateway
        self._serve = gateway._transports["polling"]
        self._waiting: dict[tuple[str, str], list[asyncio.Future]] = {}
        gateway._transports["polling"] = self._watch

    async def _watch(self, request, cors):
        key = (request.method, request.query.get("sid"))
        for future in self._waiting.pop(key, []):
            if not future.done():
                future.set_result(None)
        return await self._serve(request, cors)

    async def entered(self, poller: Poller, method: str, request) -> asyncio.Task:
        """Start `request` (a coroutine making one `method` request of `poller`'s session)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((method, poller.sid), []).append(future)
        task = asyncio.create_task(request)
        await asyncio.wait_for(future, TIMEOUT)
        return task

    async def held(self, poller: Poller) -> asyncio.Task:
        return await self.entered(poller, "GET", poller.get())
