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
    body = eio.encode_frames(map(eio.encode, packets))
    assert body == "4hello\x1e2\x1ebAQI="
    assert eio.decode_payload(body) == packets


@pytest.mark.parametrize(
    "body", ["", "4a\x1e", "\x1e4a", "4a\x1e\x1e4b", "bnot base64!", "9", "x", "4" + "x" * 20, "4" + "é" * 10]
)
def test_malformed_payloads(body):
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode_payload(body, max_payload=20 if body[1:2] in ("x", "é") else 1000)


def test_payload_packet_count_is_bounded():
    many = "\x1e".join(["6"] * eio.MAX_PAYLOAD_PACKETS)
    assert len(eio.decode_payload(many, max_payload=10**6)) == eio.MAX_PAYLOAD_PACKETS
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode_payload(many + "\x1e6", max_payload=10**6)
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode_payload("\x1e".join(["6"] * 5), max_packets=4)


def test_a_client_batch_is_split_on_the_record_separator():
    # What socket.io-client POSTs after a burst of emits: JSON never contains a raw \x1e.
    body = '40{"token":"t"}\x1e421["join:task",{"taskId":"a\\u001eb"}]\x1e3\x1e1'
    assert eio.decode_payload(body) == [
        eio.Packet(eio.MESSAGE, '0{"token":"t"}'),
        eio.Packet(eio.MESSAGE, '21["join:task",{"taskId":"a\\u001eb"}]'),
        eio.Packet(eio.PONG),
        eio.Packet(eio.CLOSE),
    ]


def test_encode_frames_is_the_polling_body_of_ready_frames():
    assert eio.encode_frames(["0{}", '42["e",1]', "2"]) == '0{}\x1e42["e",1]\x1e2'
    assert eio.encode_frames([b"\x01\x02", "6"]) == "bAQI=\x1e6"
    assert eio.encode_frames(["6"]) == eio.NOOP_FRAME == "6"
    frames = [eio.encode(p) for p in (eio.Packet(eio.MESSAGE, "x"), eio.Packet(eio.PING), eio.Packet(eio.MESSAGE, b"\xff"))]
    assert eio.decode_payload(eio.encode_frames(frames)) == [
        eio.Packet(eio.MESSAGE, "x"), eio.Packet(eio.PING), eio.Packet(eio.MESSAGE, b"\xff"),
    ]


def test_fixed_frames():
    assert (eio.CLOSE_FRAME, eio.NOOP_FRAME, eio.UPGRADE_FRAME) == ("1", "6", "5")
    assert (eio.PROBE_PING_FRAME, eio.PROBE_PONG_FRAME) == ("2probe", "3probe")


def test_open_packet_over_polling_offers_the_upgrade():
    packet = eio.open_packet("abc", ping_interval_ms=300, ping_timeout_ms=200, max_payload=10, upgrades=("websocket",))
    assert json.loads(eio.encode(packet)[1:]) == {
        "sid": "abc", "upgrades": ["websocket"], "pingInterval": 300, "pingTimeout": 200, "maxPayload": 10,
    }


S = eio.UpgradeStage


@pytest.mark.parametrize(
    "stage, frame, expected",
    [
        (S.AWAIT_PROBE, "2probe", (S.AWAIT_UPGRADE, "3probe")),
        (S.AWAIT_UPGRADE, "5", (S.DONE, None)),
        (S.AWAIT_PROBE, "5", (S.FAILED, None)),  # no upgrade without a probe
        (S.AWAIT_PROBE, "2", (S.FAILED, None)),
        (S.AWAIT_PROBE, "2prob", (S.FAILED, None)),
        (S.AWAIT_PROBE, '40{"token":"x"}', (S.FAILED, None)),
        (S.AWAIT_UPGRADE, "2probe", (S.FAILED, None)),  # one probe only
        (S.AWAIT_UPGRADE, "42[\"e\"]", (S.FAILED, None)),
        (S.AWAIT_UPGRADE, "6", (S.FAILED, None)),
        (S.AWAIT_PROBE, b"2probe", (S.FAILED, None)),
        (S.DONE, "5", (S.FAILED, None)),
    ],
)
def test_upgrade_step(stage, frame, expected):
    assert eio.upgrade_step(stage, frame) == expected


def test_payload_is_text():
    with pytest.raises(eio.EngineIODecodeError):
        eio.decode_payload(b"4abc")
