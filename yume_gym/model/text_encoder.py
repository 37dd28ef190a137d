"""The small text encoder of the embedded model: a T5 encoder over words or UTF-8 bytes.

The released recipe at toy size: a transformers ``T5EncoderModel`` with a word-level vocabulary
stored in its config (or, with none, byte tokens). Action and event texts are encoded apart,
cached and concatenated into ``text_len`` rows, as the released training captions are.
Tokenizers, truncation rules and token counts: docs/architecture.md.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import ByT5Tokenizer, T5Config, T5EncoderModel

from yume_gym.model.limits import TEXT_ENCODER_LIMITS, check_limits
from yume_gym.model.text_cache import CacheInfo, TextCache
from yume_gym.model.weights_file import (
    build_module,
    load_module,
    save_weights,
)
from yume_gym.model.word_tokenizer import check_vocabulary, word_tokenizer

TEXT_ENCODER_KIND = "yume_gym.text_encoder"
_BYT5_VOCAB = 384  # 3 special ids + 256 bytes + 125 sentinel ids, as ByT5 uses
_EOS_ID = 1  # both tokenizers: 0 pad, 1 end of sequence


@dataclass
class TextEncoderConfig:
    """Size of a :class:`TextEncoder`; ``d_model`` is the text dim the generator reads.

    ``max_length`` caps the tokens of each caption part, ``text_len`` the padded length of a
    whole caption (action + event). ``cache_size`` bounds the caption-part cache.
    ``vocab`` is a word-level vocabulary (token id = position); None tokenizes UTF-8 bytes.
    """

    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    d_ff: int = 256
    max_length: int = 256
    text_len: int = 512
    cache_size: int = 1024
    vocab: list[str] | None = None

    def __post_init__(self) -> None:
        for name in (
            "d_model",
            "num_layers",
            "num_heads",
            "d_ff",
            "max_length",
            "text_len",
            "cache_size",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        sizes = {name: getattr(self, name) for name in TEXT_ENCODER_LIMITS if name != "vocab"}
        sizes["vocab"] = len(self.vocab) if isinstance(self.vocab, list) else 0
        check_limits("TextEncoderConfig", sizes, TEXT_ENCODER_LIMITS)
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model {self.d_model} must be divisible by num_heads {self.num_heads}"
            )
        if self.vocab is not None:
            check_vocabulary(self.vocab)

    def t5_config(self) -> T5Config:
        """The transformers config of the underlying T5 encoder."""
        return T5Config(
            vocab_size=_BYT5_VOCAB if self.vocab is None else len(self.vocab),
            d_model=self.d_model,
            d_kv=self.d_model // self.num_heads,
            d_ff=self.d_ff,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            feed_forward_proj="gated-gelu",
            dropout_rate=0.0,
            layer_norm_epsilon=1e-6,
            pad_token_id=0,
            eos_token_id=1,
        )


class TextEncoder(nn.Module):
    """Caption encoder: ``encode_batch([(action, event), ...]) -> (B, text_len, d_model)``."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self._words = None if config.vocab is None else word_tokenizer(config.vocab)
        self._bytes = ByT5Tokenizer() if config.vocab is None else None
        self.t5 = T5EncoderModel(config.t5_config())
        self.t5.eval()
        self._cache = TextCache(self.encode_parts, config.cache_size)
        # Weights loaded after caching would make the cache stale.
        self.register_load_state_dict_post_hook(lambda module, keys: module.clear_cache())

    @property
    def d_model(self) -> int:
        return self.config.d_model

    @property
    def text_len(self) -> int:
        return self.config.text_len

    def _apply(
        self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True
    ) -> TextEncoder:
        # .to()/.half()/.cuda() move the weights: drop embeddings cached on the old device/dtype.
        self.clear_cache()
        return super()._apply(fn, recurse)

    def token_count(self, text: str) -> int:
        """Tokens of ``text`` after truncation to ``max_length`` (end-of-sequence included)."""
        _check_text(text, "text")
        return min(len(self._ids(text)), self.config.max_length)

    @torch.no_grad()
    def encode_parts(self, texts: list[str]) -> list[torch.Tensor]:
        """A list of (L_i, d_model) embeddings, one per text, each with exactly its L_i tokens.

        Each text runs through the encoder on its own (a batch of one, no padding), so its
        embedding never depends on the other texts of the call; for this small model that is
        also faster on CPU than padding a batch.
        """
        if not isinstance(texts, (list, tuple)):
            raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
        for i, text in enumerate(texts):
            _check_text(text, f"texts[{i}]")
        return [
            self.t5(input_ids=self._tokenize(text)).last_hidden_state[0] for text in texts
        ]  # (L_i, d_model)

    def encode_action(self, action_text: str) -> torch.Tensor:
        """The embedding (L, d_model) of one action text, from the cache when present."""
        return self._cache.lookup([action_text])[action_text].clone()

    def encode_caption(self, action_text: str, event_text: str | None = None) -> torch.Tensor:
        """(text_len, d_model): action then event embeddings, zero-padded (see the module doc)."""
        return self.encode_batch([(action_text, event_text)])[0]

    def encode_batch(self, captions: list[tuple[str, str | None]]) -> torch.Tensor:
        """(B, text_len, d_model) for a list of (action_text, event_text or None) pairs.

        An event of None or "" means no event. Each distinct action and event text is encoded
        once and cached.
        """
        pairs = _check_captions(captions)
        parts = self._cache.lookup([a for a, _ in pairs] + [e for _, e in pairs if e])
        return self._assemble(pairs, parts)

    def forward(self, captions: list[tuple[str, str | None]]) -> torch.Tensor:
        """(B, text_len, d_model) like :meth:`encode_batch`, with gradients and no cache.

        The distinct texts of the batch run through the encoder once, as one padded batch
        with an attention mask (equal to encoding them one by one up to float rounding).
        """
        pairs = _check_captions(captions)
        texts = list(dict.fromkeys([a for a, _ in pairs] + [e for _, e in pairs if e]))
        ids = [self._tokenize(t)[0] for t in texts]
        padded = torch.nn.utils.rnn.pad_sequence(ids, batch_first=True)  # (U, L_max), pad id 0
        lengths = torch.tensor([len(i) for i in ids], device=padded.device)
        mask = torch.arange(padded.shape[1], device=padded.device)[None] < lengths[:, None]
        hidden = self.t5(input_ids=padded, attention_mask=mask.long()).last_hidden_state  # (U, L_max, D)
        embeddings = {t: hidden[i, : len(ids[i])] for i, t in enumerate(texts)}
        return self._assemble(pairs, embeddings)

    def _assemble(self, pairs: list[tuple[str, str | None]], embeddings: dict[str, torch.Tensor]) -> torch.Tensor:
        """Action then event embeddings per caption, cut to and zero-padded to text_len rows."""
        rows = []
        for i, (action, event) in enumerate(pairs):
            joined = torch.cat([embeddings[action]] + ([embeddings[event]] if event else []))  # (L, D)
            if joined.shape[0] > self.text_len:
                warnings.warn(
                    f"caption {i} has {joined.shape[0]} tokens, more than text_len "
                    f"{self.text_len}; keeping the first {self.text_len} (the event is cut first)",
                    stacklevel=3,
                )
            joined = joined[: self.text_len]
            rows.append(torch.nn.functional.pad(joined, (0, 0, 0, self.text_len - joined.shape[0])))
        return torch.stack(rows)  # (B, text_len, d_model)

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size of the caption-part cache (action and event texts)."""
        return self._cache.info()

    def clear_cache(self) -> None:
        """Forget all cached embeddings and reset the statistics."""
        self._cache.clear()

    def _tokenize(self, text: str) -> torch.Tensor:
        """Token ids (1, L) of ``text``, cut to max_length tokens (keeping the end-of-sequence)."""
        limit = self.config.max_length
        ids = self._ids(text)
        if len(ids) > limit:
            warnings.warn(
                f"text of {len(ids)} tokens is cut to max_length {limit}: {text[:40]!r}...",
                stacklevel=2,
            )
            ids = ids[: limit - 1] + [_EOS_ID]
        return torch.tensor([ids], device=self.t5.shared.weight.device)  # (1, L)

    def _ids(self, text: str) -> list[int]:
        """Token ids of ``text``, ending with the end-of-sequence id."""
        if self._words is not None:
            return self._words.encode(text).ids
        return self._bytes(text)["input_ids"]


def _check_text(text: object, name: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}: {text!r}")
    if not text:
        raise ValueError(f"{name} is an empty string; pass a caption text")


def _check_captions(captions: object) -> list[tuple[str, str | None]]:
    if not isinstance(captions, (list, tuple)) or not captions:
        raise ValueError(
            f"captions must be a non-empty list of (action_text, event_text) pairs, "
            f"got {captions!r}"
        )
    pairs = []
    for i, caption in enumerate(captions):
        if not isinstance(caption, (list, tuple)) or len(caption) != 2:
            raise TypeError(
                f"captions[{i}] must be an (action_text, event_text) pair, got {caption!r}"
            )
        action, event = caption
        _check_text(action, f"captions[{i}] action text")
        if event is not None and not isinstance(event, str):
            raise TypeError(
                f"captions[{i}] event text must be a str or None, "
                f"got {type(event).__name__}: {event!r}"
            )
        pairs.append((action, event or None))
    return pairs


def build_text_encoder(
    config: TextEncoderConfig | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> TextEncoder:
    """A freshly initialised text encoder (default: d_model 64, 2 layers, 4 heads)."""
    return build_module(TextEncoder, TextEncoderConfig, config, device, dtype)


def save_text_encoder(encoder: TextEncoder, path: str | os.PathLike) -> Path:
    """Save weights and config to one .safetensors file, atomically."""
    return save_weights(encoder, path, TEXT_ENCODER_KIND, encoder.config)


def load_text_encoder(
    path: str | os.PathLike,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> TextEncoder:
    """Rebuild a text encoder from a file written by :func:`save_text_encoder`, strictly."""
    return load_module(path, TEXT_ENCODER_KIND, TextEncoderConfig, TextEncoder).to(device=device, dtype=dtype)
