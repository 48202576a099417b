"""The Engine.IO v4 packet codec on its own."""

from __future__ import annotations

import json

import pytest

from tasktrek.realtime import engineio as eio


@pytest.mark.parametrize(
    "packet, frame",
    [
        (eio.Packet(eio.OPEN, '{"sid":"x"}'), '0{"sid":"x"}'),
        (eio.Packet(eio.CLOSE), "1"),
        (eio.Packet(eio.PING), "2"),
        (eio.Packet(eio.PONG), "3"),
        (eio.Packet(eio.PING, "probe"), "2probe"),
        (eio.Packet(eio.PONG, "probe"), "3probe"),
        (eio.Packet(eio.MESSAGE, "hello"), "4hello"),
        (eio.Packet(eio.MESSAGE, '2["e",{"a":1}]'), '42["e",{"a":1}]'),
        (eio.Packet(eio.UPGRADE), "5"),
        (eio.Packet(eio.NOOP), "6"),
        (eio.Packet(eio.MESSAGE, "é ☃ 😀"), "4é ☃ 😀"),
    ],
)
def test_text_round_trip(packet, frame):
    assert eio.encode(packet) == frame
    assert eio.decode(frame) == packet


def test_binary_frames_are_messages():
    assert eio.encode(eio.Packet(eio.MESSAGE, b"\x00\x01")) == b"\x00\x01"
    assert eio.decode(b"\x00\x01") == eio.Packet(eio.MESSAGE, b"\x00\x01")
    assert eio.decode(bytearray(b"ab")).data == b"ab"
    assert eio.decode(b"").data == b""


def test_only_messages_carry_binary():
    with pytest.raises(ValueError):
        eio.Packet(eio.PING, b"x")
    with pytest.raises(ValueError):
        eio.Packet(9)


def test_open_packet_is_the_contract_handshake():
    packet = eio.open_packet("abc", ping_interval_ms=25000, ping_timeout_ms=20000)
    frame = eio.encode(packet)
    assert frame[0] == "0"
    assert json.loads(frame[1:]) == {
        "sid": "abc", "upgrades": [], "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000,
    }


@pytest.mark.parametrize("frame", ["", "7", "9abc", "a", "x2", "-1", " 2", "\x004", "٣"])
def test_malformed_frames(frame):
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode(frame)


@pytest.mark.parametrize("frame", [None, 42, 4.0, ["4"], {"4": 1}])
def test_non_frames(frame):
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode(frame)


def test_max_payload_counts_bytes():
    assert eio.decode("4" + "a" * 9, max_payload=10).data == "a" * 9
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode("4" + "a" * 10, max_payload=10)
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode("4" + "é" * 5, max_payload=10)  # 11 bytes in UTF-8
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode(b"x" * 11, max_payload=10)


def test_lone_surrogates_do_not_escape_as_unicode_errors():
    assert eio.decode("4\ud800", max_payload=10).data == "\ud800"


def test_payload_round_trip():
    packets = [eio.Packet(eio.MESSAGE, "hello"), eio.Packet(eio.PING), eio.Packet(eio.MESSAGE, b"\x01\x02")]
    body = eio.encode_payload(packets)
    assert body == "4hello\x1e2\x1ebAQI="
    assert eio.decode_payload(body) == packets


@pytest.mark.parametrize("body", ["", "4a\x1e", "bnot base64!", "\x1e".join(["6"] * 17), "4" + "x" * 20])
def test_malformed_payloads(body):
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode_payload(body, max_payload=20 if body.startswith("4x") else 1000)


def test_payload_is_text():
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode_payload(b"4abc")
