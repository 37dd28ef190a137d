"""The caption-part cache shared by the text encoders.

A world's caption is an action part and a scene/event part, each encoded on its own: the 81
action texts recur every step, and a world's prompt and event stay the same for many chunks,
so neither should run through the encoder again (for umt5-xxl with offloading, each encoder
call would otherwise move 11 GB of weights to the GPU and back)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import torch


class CacheInfo(NamedTuple):
    """Cache statistics, like ``functools.lru_cache``'s."""

    hits: int
    misses: int
    size: int


class TextCache:
    """A least-recently-used map text -> embedding of at most ``size`` entries; texts missing
    from it are embedded together by one call of ``encode(texts) -> [embedding, ...]``."""

    def __init__(self, encode: Callable[[list[str]], list[torch.Tensor]], size: int) -> None:
        self.encode, self.size = encode, size
        self._entries: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._hits = self._misses = 0

    def lookup(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Embeddings of ``texts``; each missing distinct one is encoded once."""
        wanted = list(dict.fromkeys(texts))
        missing = [t for t in wanted if t not in self._entries]
        self._misses += len(missing)
        self._hits += len(texts) - len(missing)
        found = {t: self._entries[t] for t in wanted if t in self._entries}
        found.update(zip(missing, self.encode(missing), strict=True))
        for text in wanted:  # most recently used last; evict the oldest beyond size
            self._entries[text] = found[text]
            self._entries.move_to_end(text)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return found

    def info(self) -> CacheInfo:
        return CacheInfo(self._hits, self._misses, len(self._entries))

    def clear(self) -> None:
        """Forget every entry and reset the statistics."""
        self._entries.clear()
        self._hits = self._misses = 0
