"""Caption composition: how a chunk's action caption and its scene text reach the text encoder.

- ``"split"``: the action caption and the scene text (prompt + event) are encoded separately and
  their trimmed embeddings concatenated, as Yume-1.5 was trained and the embedded model is.
- ``"joined"``: one string, the action caption followed directly by the scene text, in one
  encoder pass, as the released inference does. See ``docs/release-fidelity.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

CAPTION_COMPOSITIONS = ("split", "joined")
JOINED_SEPARATOR = ""  # the release appends the prompt right after the caption line's final "."

Caption = tuple[str, str | None]  # (action caption, scene text or None)


def check_composition(composition: object) -> str:
    """``composition`` if it is one of :data:`CAPTION_COMPOSITIONS`; a ValueError otherwise."""
    if composition not in CAPTION_COMPOSITIONS:
        raise ValueError(f"caption_composition={composition!r} is not known; use one of {list(CAPTION_COMPOSITIONS)}")
    return composition


def compose(captions: Sequence[Caption], composition: str) -> list[Caption]:
    """The (first, second) text pairs a text encoder's ``encode_batch`` gets for ``captions``.

    Split keeps each pair; joined makes each one string with no second part, so the encoder
    runs (and caches) that whole string at once.
    """
    if check_composition(composition) == "split":
        return list(captions)
    return [(action + JOINED_SEPARATOR + scene if scene else action, None) for action, scene in captions]


def caption_text(caption: Caption, composition: str) -> str:
    """The caption as one line of text, for logs and ``info["caption"]``."""
    (first, second), = compose([caption], composition)
    return first if not second else f"{first} {second}"
