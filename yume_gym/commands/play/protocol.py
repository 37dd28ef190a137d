"""The messages a page sends to ``yume-gym serve`` over its websocket, and how each is checked.

Each message is one JSON object in a text frame, at most :data:`MAX_MESSAGE_BYTES` bytes;
anything else raises :class:`ProtocolError`, whose message the server sends back, keeping the
connection. The messages, both ways: docs/architecture.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from yume_gym.events import validate_event_text
from yume_gym.commands.play.held_keys import PLAY_KEYS, check_key

MAX_MESSAGE_BYTES = 4096
MAX_HELD_KEYS = len(PLAY_KEYS)
_FIELDS = {"keys": {"held"}, "event": {"text"}, "reset": set(), "pause": set(), "record": set()}


class ProtocolError(ValueError):
    """A client message that the server refuses; the text says why."""


@dataclass(frozen=True)
class Command:
    """A checked client message: ``kind`` is a message type, ``value`` its argument (or None)."""

    kind: str
    value: Any = None


def parse_message(text: str) -> Command:
    """Check one client message (see the module doc); a :class:`ProtocolError` if it is bad."""
    if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(text.encode('utf-8'))} bytes; at most {MAX_MESSAGE_BYTES} are read")
    try:
        message = json.loads(text)
    except json.JSONDecodeError as err:
        raise ProtocolError(f'message is not JSON ({err}); send an object such as {{"type": "reset"}}') from None
    if not isinstance(message, dict):
        raise ProtocolError(f"message is a JSON {type(message).__name__}; send an object with a \"type\"")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise ProtocolError(f"unknown message type {kind!r}; expected one of {sorted(_FIELDS)}")
    fields = set(message) - {"type"}
    if fields != _FIELDS[kind]:
        expected = sorted(_FIELDS[kind]) or "no other field"
        raise ProtocolError(f"a {kind!r} message has fields {sorted(fields)}; expected {expected}")
    if kind == "keys":
        return Command(kind, _held_keys(message["held"]))
    if kind == "event":
        try:
            return Command(kind, validate_event_text(message["text"]))
        except ValueError as err:
            raise ProtocolError(str(err)) from None
    return Command(kind)


def _held_keys(held: Any) -> frozenset[str]:
    if not isinstance(held, list) or len(held) > MAX_HELD_KEYS:
        raise ProtocolError(f'"held" must be a list of at most {MAX_HELD_KEYS} key names, got {str(held)[:80]!r}')
    try:
        return frozenset(check_key(name) for name in held)
    except ValueError as err:
        raise ProtocolError(str(err)) from None
