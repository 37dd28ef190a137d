"""The websocket messages of `yume-gym serve`: good ones parse, bad ones are refused with a reason."""

import json
import re

import pytest

from yume_gym.events import MAX_EVENT_CHARS
from yume_gym.commands.play.protocol import MAX_MESSAGE_BYTES, Command, ProtocolError, parse_message


def test_good_messages():
    assert parse_message('{"type": "keys", "held": ["w", "LEFT"]}') == Command("keys", frozenset({"W", "LEFT"}))
    assert parse_message('{"type": "keys", "held": []}') == Command("keys", frozenset())
    assert parse_message('{"type": "event", "text": "night falls"}') == Command("event", "night falls")
    assert parse_message('{"type": "event", "text": null}') == Command("event", None)
    for kind in ("reset", "pause", "record"):
        assert parse_message(json.dumps({"type": kind})) == Command(kind)


@pytest.mark.parametrize("text, reason", [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON list"),
    ('{"held": ["W"]}', "unknown message type None"),
    ('{"type": "jump"}', "unknown message type 'jump'"),
    ('{"type": "keys"}', "expected ['held']"),
    ('{"type": "reset", "now": true}', "expected no other field"),
    ('{"type": "keys", "held": ["W", "SPACE"]}', "unknown key name 'SPACE'"),
    ('{"type": "keys", "held": "W"}', "must be a list"),
    ('{"type": "keys", "held": [1]}', "unknown key name 1"),
    ('{"type": "keys", "held": ' + json.dumps(["W"] * 9) + "}", "at most 8"),
    ('{"type": "event", "text": "   "}', "blank"),
    ('{"type": "event", "text": 7}', "expected a string"),
    (json.dumps({"type": "event", "text": "x" * (MAX_EVENT_CHARS + 1)}), f"at most {MAX_EVENT_CHARS} characters"),
    (json.dumps({"type": "event", "text": "x" * MAX_MESSAGE_BYTES}), f"at most {MAX_MESSAGE_BYTES} are read"),
])  # fmt: skip
def test_bad_messages_are_refused_with_the_reason(text, reason):
    with pytest.raises(ProtocolError, match=re.escape(reason)):
        parse_message(text)
