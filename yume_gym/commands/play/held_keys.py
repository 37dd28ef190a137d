"""The keys a player holds, turned into the action of the next chunk.

Key names are those of :func:`yume_gym.actions.action_from_keys`: W, A, S, D and the arrows
LEFT, RIGHT, UP, DOWN. A chunk takes the keys held when its generation starts, plus every key
pressed since the previous chunk's action was taken, so a tap shorter than a chunk still moves.
"""

from __future__ import annotations

from collections.abc import Iterable

from yume_gym.actions import action_from_keys

PLAY_KEYS = ("W", "A", "S", "D", "LEFT", "RIGHT", "UP", "DOWN")


def check_key(name: str) -> str:
    """``name`` upper-cased if it is a play key; a ValueError naming it and the choices otherwise."""
    if not isinstance(name, str) or name.upper() not in PLAY_KEYS:
        raise ValueError(f"unknown key name {name!r}; expected one of {', '.join(PLAY_KEYS)}")
    return name.upper()


class HeldKeys:
    """Held and recently tapped play keys (not thread-safe: the controller locks around it)."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self._tapped: set[str] = set()

    def press(self, name: str) -> None:
        """Hold ``name``; it counts for the next action even if released before it is taken."""
        key = check_key(name)
        self.held.add(key)
        self._tapped.add(key)

    def release(self, name: str) -> None:
        """Let go of ``name``."""
        self.held.discard(check_key(name))

    def set_held(self, names: Iterable[str]) -> None:
        """Make exactly ``names`` held (all are checked first); newly held keys count as taps."""
        keys = {check_key(name) for name in names}
        self._tapped |= keys - self.held
        self.held = keys

    def release_all(self) -> None:
        """Let go of every key (taps not yet taken still count)."""
        self.held.clear()

    def held_action(self) -> int:
        """The ``Discrete(81)`` action of the held keys alone (the taps are kept)."""
        return action_from_keys(frozenset(self.held))

    def take_action(self) -> int:
        """The ``Discrete(81)`` action of the held and tapped keys; forgets the taps."""
        action = action_from_keys(frozenset(self.held | self._tapped))
        self._tapped.clear()
        return action
