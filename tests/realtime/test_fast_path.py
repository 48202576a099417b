"""The fan-out fast path against its slow twin: a text frame written straight to an idle
socket (built once per event) must be the very bytes aiohttp's writer sends on the queued
path, reach every socket once, and never overtake a frame that is queued."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import WSMsgType
from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.base_protocol import BaseProtocol

from tasktrek.realtime.broadcaster import event_frame
from tasktrek.realtime.frames import SharedFrame, text_frame, wire_form

from .harness import TIMEOUT
from .rawpolling import Poller
from .rawws import MiniWebSocket, RawSocket, event_payload


class Recording(asyncio.Transport):
    """Records what aiohttp's writer writes: here the bytes are the subject, not the network."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()

    def write(self, data) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False


async def _aiohttp_frame(text: str) -> bytes:
    transport = Recording()
    writer = WebSocketWriter(BaseProtocol(asyncio.get_running_loop()), transport, use_mask=False, compress=0)
    await writer.send_frame(text.encode(), WSMsgType.TEXT)
    return bytes(transport.written)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
async def test_a_built_frame_is_what_aiohttps_writer_sends(size):
    text = ("42é</" * size)[:size]
    assert text_frame(text.encode()) == await _aiohttp_frame(text)
    assert wire_form(text) == wire_form(SharedFrame(text)) == await _aiohttp_frame(text)


def test_a_shared_frame_is_built_once():
    frame = event_frame("task:updated", {"title": "Ünïcode </script>"})
    assert isinstance(frame, SharedFrame)
    assert frame.startswith("42") and json.loads(frame[2:]) == ["task:updated", {"title": "Ünïcode </script>"}]
    assert frame.wire() is frame.wire()


async def _user_socket(harness, session, token) -> RawSocket:
    sock = await RawSocket.open(session, harness.ws_url())
    await sock.connect(token)
    assert event_payload(await sock.recv())[0] == "notification:count"
    return sock


async def test_one_event_reaches_every_idle_socket_once_without_a_queue(harness, session):
    alice = await harness.register()
    sockets = [await _user_socket(harness, session, alice.token) for _ in range(3)]
    engines = [c.engine for c in harness.gateway.rooms.members(f"user:{alice.id}")]
    payload = {"title": "Ünïcode </script>", "n": 1}
    assert harness.gateway.emit("task:updated", payload, rooms=[f"user:{alice.id}"]) == 3
    # Written at once: nothing was left for a writer task to send.
    assert all(not engine.has_outgoing for engine in engines)
    expected = event_frame("task:updated", payload)
    for sock in sockets:
        assert await sock.recv() == expected
    assert harness.gateway.emit("task:updated", {"n": 2}, rooms=[f"user:{alice.id}"]) == 3
    for sock in sockets:  # exactly once each: the next frame is the next event
        assert event_payload(await sock.recv()) == ("task:updated", {"n": 2})
        await sock.close()


async def test_frames_keep_their_order_across_the_fast_and_the_queued_path(harness):
    alice = await harness.register()
    slow = await MiniWebSocket.open(harness.ws_url(), rcvbuf=4096)
    sid = json.loads((await slow.recv_text())[1:])["sid"]
    slow.send('40{"token":"%s"}' % alice.token)
    assert (await slow.recv_text()).startswith('40{"sid"')
    assert event_payload(await slow.recv_text())[0] == "notification:count"
    engine = harness.engine(sid)
    room, pad = f"user:{alice.id}", "x" * 16 * 1024

    # The client does not read for now: frames go straight out until the connection's buffers
    # are full, then wait in the queue (no writer has run in between: nothing is awaited).
    sent = 0
    assert harness.gateway.emit("bulk", {"n": sent, "pad": pad}, rooms=[room]) == 1
    assert not engine.has_outgoing  # the first went straight out
    while not engine.has_outgoing:
        sent += 1
        assert sent < 2000, "the connection's buffers never filled"
        assert harness.gateway.emit("bulk", {"n": sent, "pad": pad}, rooms=[room]) == 1
    for _ in range(3):  # queued behind the others, even though the writer has not run yet
        sent += 1
        assert harness.gateway.emit("bulk", {"n": sent, "pad": pad}, rooms=[room]) == 1
    received = [event_payload(await asyncio.wait_for(slow.recv_text(), TIMEOUT))[1]["n"] for _ in range(sent + 1)]
    assert received == list(range(sent + 1))
    await slow.close()


async def test_a_session_upgraded_from_polling_takes_the_fast_path_too(harness, session):
    alice = await harness.register()
    poller = await Poller.open(harness, session)
    await poller.connect(alice.token)
    assert event_payload(await poller.recv())[0] == "notification:count"
    engine = harness.engine(poller.sid)
    payload = {"n": 0}
    assert harness.gateway.emit("task:updated", payload, rooms=[f"user:{alice.id}"]) == 1
    assert engine.has_outgoing  # before the upgrade: queued for the next poll
    ws = await session.ws_connect(harness.ws_url(f"EIO=4&transport=websocket&sid={poller.sid}"))
    await ws.send_str("2probe")
    assert await ws.receive_str(timeout=TIMEOUT) == "3probe"
    await ws.send_str("5")
    assert event_payload(await ws.receive_str(timeout=TIMEOUT)) == ("task:updated", {"n": 0})
    assert engine.transport_name == "websocket"
    # A round trip: whatever the switch queued has been written and its writer is done.
    await ws.send_str('42["presence:get"]')
    assert event_payload(await ws.receive_str(timeout=TIMEOUT))[0] == "presence:list"
    assert harness.gateway.emit("task:updated", {"n": 1}, rooms=[f"user:{alice.id}"]) == 1
    assert not engine.has_outgoing  # written at once
    assert event_payload(await ws.receive_str(timeout=TIMEOUT)) == ("task:updated", {"n": 1})
    await ws.close()
