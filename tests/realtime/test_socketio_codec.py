"""The Socket.IO v5 packet codec on its own, including everything a client may get wrong."""

from __future__ import annotations

import pytest

from tasktrek.realtime import socketio as sio


@pytest.mark.parametrize(
    "packet, text",
    [
        (sio.Packet(sio.CONNECT), "0"),
        (sio.Packet(sio.CONNECT, {"token": "t"}), '0{"token":"t"}'),
        (sio.connect("abc"), '0{"sid":"abc"}'),
        (sio.Packet(sio.CONNECT, {"token": "t"}, "/admin"), '0/admin,{"token":"t"}'),
        (sio.disconnect(), "1"),
        (sio.disconnect("/admin"), "1/admin,"),
        (sio.event("hello"), '2["hello"]'),
        (sio.event("join:task", {"taskId": "x"}), '2["join:task",{"taskId":"x"}]'),
        (sio.event("e", 1, "two", None, id=12), '212["e",1,"two",null]'),
        (sio.event("e", {"a": [1, 2]}, id=0, namespace="/ns"), '2/ns,0["e",{"a":[1,2]}]'),
        (sio.ack(7, {"ok": True}), '37[{"ok":true}]'),
        (sio.ack(7), "37[]"),
        (sio.ack(3, namespace="/ns"), "3/ns,3[]"),
        (sio.connect_error("invalid token"), '4{"message":"invalid token"}'),
        (sio.connect_error("Invalid namespace", "/admin"), '4/admin,{"message":"Invalid namespace"}'),
        (sio.event("ünïcode ☃", "😀"), '2["\\u00fcn\\u00efcode \\u2603","\\ud83d\\ude00"]'),
    ],
)
def test_round_trip(packet, text):
    assert sio.encode(packet) == text
    assert sio.decode(text) == packet


def test_decoding_accepts_what_clients_write():
    assert sio.decode('2["e","ü"]').args == ["ü"]  # raw UTF-8, as JSON.stringify writes it
    assert sio.decode("0/admin") == sio.Packet(sio.CONNECT, None, "/admin")  # namespace without comma
    assert sio.decode("0/") == sio.Packet(sio.CONNECT, None, "/")
    assert sio.decode('2 ["e"]'.replace(" ", "")).event == "e"
    assert sio.decode('3123[1]').id == 123
    packet = sio.decode('2/chat,45["msg",{"x":1}]')
    assert (packet.namespace, packet.id, packet.event, packet.args) == ("/chat", 45, "msg", [{"x": 1}])


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "empty"),
        ("7", "unknown type"),
        ("x", "unknown type"),
        ("٢[\"e\"]", "non-ASCII digit type"),
        ('51-["e",{"_placeholder":true,"num":0}]', "binary event"),
        ("61-0[{\"_placeholder\":true,\"num\":0}]", "binary ack"),
        ("2", "event without data"),
        ("2[]", "event without name"),
        ("2[1]", "event name not a string"),
        ('2[""]', "empty event name"),
        ('2{"e":1}', "event data not an array"),
        ('2"e"', "event data a string"),
        ("2[\"e\"", "truncated JSON"),
        ("2[\"e\",]", "bad JSON"),
        ("2[\"e\",NaN]", "NaN is not JSON"),
        ("2[\"e\",Infinity]", "Infinity is not JSON"),
        ("2[\"e\"] x", "trailing garbage"),
        ("3[1]", "ack without id"),
        ("31{}", "ack data not an array"),
        ("0[]", "connect data not an object"),
        ('0"token"', "connect data a string"),
        ("01{}", "connect with an ack id"),
        ("1{}", "disconnect with data"),
        ("45", "connect_error with id and no data"),
        ("4", "connect_error without data"),
        ("2" + "9" * 17 + '["e"]', "ack id too long"),
        ("29007199254740992[\"e\"]", "ack id beyond 2**53-1"),
        ("2/" + "n" * 200 + ',["e"]', "namespace too long"),
        ('2["e","\\ud800\\"]', "broken escape"),
        ("2[\"e\",\"\x01\"]", "control character in string"),
        ("2[\"e\"," + "1" * 5000 + "]", "integer too long to convert"),
    ],
)
def test_malformed_packets(text, why):
    with pytest.raises(sio.SocketIODecodeError):
        sio.decode(text)


@pytest.mark.parametrize("value", [None, b'2["e"]', 2, ["2"]])
def test_non_text(value):
    with pytest.raises(sio.SocketIODecodeError):
        sio.decode(value)


def test_bounded_by_payload_size():
    limits = sio.Limits(max_payload=20)
    assert sio.decode('2["e","' + "a" * 11 + '"]', limits).args == ["a" * 11]  # 20 characters
    with pytest.raises(sio.SocketIODecodeError):
        sio.decode('2["e","' + "a" * 12 + '"]', limits)


def test_bounded_by_nesting_depth():
    limits = sio.Limits(max_depth=4)
    assert sio.decode('2["e",[[1]]]', limits).args == [[[1]]]  # depth 3
    assert sio.decode('2["e",{"a":[{}]}]', limits).args == [{"a": [{}]}]  # depth 4
    with pytest.raises(sio.SocketIODecodeError):
        sio.decode('2["e",{"a":[{"b":[]}]}]', limits)  # depth 5
    deep = "[" * 100_000 + "]" * 100_000  # would blow the recursion limit of a naive walk
    with pytest.raises(sio.SocketIODecodeError):
        sio.decode('2["e",' + deep + "]")
    with pytest.raises(sio.SocketIODecodeError):
        sio.decode('2["e",' + "[" * 100_000 + "]")


def test_bounded_by_event_name_length():
    limits = sio.Limits(max_event_name_length=8)
    assert sio.decode('2["12345678"]', limits).event == "12345678"
    with pytest.raises(sio.SocketIODecodeError):
        sio.decode('2["123456789"]', limits)


def test_json_depth():
    assert sio.json_depth(1) == 0
    assert sio.json_depth([]) == 1
    assert sio.json_depth({"a": [1, {"b": {}}]}) == 4
    assert sio.json_depth([[[[[]]]]], stop_after=2) == 3


@pytest.mark.parametrize(
    "packet",
    [
        sio.Packet(sio.BINARY_EVENT, ["e", b"x"]),
        sio.Packet(sio.EVENT, []),
        sio.Packet(sio.EVENT, [1]),
        sio.Packet(sio.ACK, []),
        sio.Packet(sio.EVENT, ["e"], "no-slash"),
        sio.Packet(sio.EVENT, ["e"], "/a,b"),
        sio.Packet(sio.EVENT, ["e", b"bytes"]),
        sio.Packet(sio.EVENT, ["e", float("nan")]),
        sio.Packet(sio.EVENT, ["e"], id=-1),
        sio.Packet(9),
    ],
)
def test_refuses_to_encode_bad_packets(packet):
    with pytest.raises(sio.SocketIOEncodeError):
        sio.encode(packet)


def test_fuzz_never_raises_anything_else():
    import random

    rng = random.Random(3)
    alphabet = '0123456789[]{}",:/-\\abcnultre \x00\ud800é'
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        try:
            sio.decode(text)
        except sio.SocketIODecodeError:
            pass
