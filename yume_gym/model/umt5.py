"""The released text encoder: the umt5-xxl encoder behind the small text encoder's interface.

:class:`UMT5TextEncoder` wraps a transformers ``UMT5EncoderModel`` and its tokenizer, encodes
captions as the release does, caches action and event embeddings and can offload its weights
to the CPU; :func:`load_umt5` reads Wan-native or diffusers checkpoints.
Text cleaning, caption layout, memory and checkpoint formats: docs/architecture.md.
"""

from __future__ import annotations

import html
import os
import re
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn
from transformers import AutoTokenizer, UMT5Config, UMT5EncoderModel

from yume_gym.model.text_cache import CacheInfo, TextCache
from yume_gym.model.limits import UMT5_LIMITS, check_limits
from yume_gym.model.safe_load import (
    check_manifest,
    check_weight_values,
    load_pth,
    load_safetensors,
    safetensors_files,
    save_pth,
    tagged_config,
    tensor_infos,
)
from yume_gym.model.umt5_keys import (
    TIED_ALIAS,
    fold_tied,
    hf_manifest,
    hf_to_wan_state,
    wan_manifest,
    wan_to_hf_state,
)

NATIVE_FILE = "models_t5_umt5-xxl-enc-bf16.pth"
NATIVE_TOKENIZER_DIR = "google/umt5-xxl"
HF_MODEL_DIR = "text_encoder"
HF_TOKENIZER_DIR = "tokenizer"
HF_STEM = "model"
TEXT_LEN = 512


def umt5_xxl_config(**overrides: Any) -> UMT5Config:
    """The transformers config of the umt5-xxl encoder; ``overrides`` replace fields."""
    fields = dict(
        vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
        relative_attention_num_buckets=32, relative_attention_max_distance=128,
        feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, dropout_rate=0.0,
        tie_word_embeddings=False,
    )  # fmt: skip
    fields.update(overrides)
    return UMT5Config(**fields)


def clean_text(text: str) -> str:
    """Caption cleaning as released (minus ftfy): unescape HTML twice, collapse whitespace."""
    return re.sub(r"\s+", " ", html.unescape(html.unescape(text))).strip()


class UMT5TextEncoder(nn.Module):
    """Caption encoder: ``encode_batch([(action, event), ...]) -> (B, text_len, d_model)``.

    ``device`` is where encoding runs and embeddings are returned (default: where the weights
    are); ``offload`` keeps the weights on the CPU between calls; ``batch_size`` texts are
    encoded per forward pass.
    """

    def __init__(self, model: UMT5EncoderModel, tokenizer: Any, text_len: int = TEXT_LEN,
                 device: torch.device | str | None = None, offload: bool = False,
                 batch_size: int = 8, cache_size: int = 1024) -> None:
        super().__init__()
        sizes = {"text_len": text_len, "batch_size": batch_size, "cache_size": cache_size}
        for name, value in sizes.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.text_len, self.batch_size, self.cache_size = text_len, batch_size, cache_size
        self.offload = offload
        weights_device = model.shared.weight.device
        self._run_device = torch.device(device) if device is not None else weights_device
        self.model.to("cpu" if offload else self._run_device)
        self._cache = TextCache(self.encode_parts, cache_size)

    @property
    def device(self) -> torch.device:
        """Where texts are encoded and embeddings returned."""
        return self._run_device if self.offload else self.model.shared.weight.device

    @property
    def d_model(self) -> int:
        return self.model.config.d_model

    def _apply(self, fn, recurse=True):  # noqa: ANN001
        # .to()/.half() move the weights: drop embeddings cached on the old device/dtype.
        self.clear_cache()
        return super()._apply(fn, recurse)

    def token_count(self, text: str) -> int:
        """Tokens of ``text`` after cleaning and truncation (end-of-sequence included)."""
        _check_text(text, "text")
        ids = self.tokenizer(clean_text(text), truncation=True, max_length=self.text_len)
        return len(ids["input_ids"])

    @torch.no_grad()
    def encode_parts(self, texts: list[str]) -> list[torch.Tensor]:
        """(L_i, d_model) embeddings on ``device``, one per text, each trimmed to its tokens."""
        if not isinstance(texts, (list, tuple)):
            raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
        for i, text in enumerate(texts):
            _check_text(text, f"texts[{i}]")
        if not texts:
            return []
        if self.offload:
            self.model.to(self.device)
        try:
            out: list[torch.Tensor] = []
            for start in range(0, len(texts), self.batch_size):
                out += self._encode_padded(list(texts[start : start + self.batch_size]))
        finally:
            if self.offload:
                self.model.to("cpu")
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
        return out

    def _encode_padded(self, texts: list[str]) -> list[torch.Tensor]:
        cleaned = [clean_text(t) for t in texts]
        for text, ids in zip(texts, self.tokenizer(cleaned)["input_ids"], strict=True):
            if len(ids) > self.text_len:
                warnings.warn(f"text of {len(ids)} tokens is cut to {self.text_len}: "
                              f"{text[:40]!r}...", stacklevel=3)
        batch = self.tokenizer(cleaned, padding="max_length", truncation=True,
                               max_length=self.text_len, return_tensors="pt")
        ids = batch["input_ids"].to(self.device)  # (b, text_len)
        mask = batch["attention_mask"].to(self.device)  # (b, text_len)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state  # (b, L, d)
        return [h[: int(n)] for h, n in zip(hidden, mask.sum(dim=1), strict=True)]  # (L_i, d)

    def encode_action(self, action_text: str) -> torch.Tensor:
        """The embedding (L, d_model) of one action text, from the cache when present."""
        return self._cache.lookup([action_text])[action_text].clone()

    def encode_caption(self, action_text: str, event_text: str | None = None) -> torch.Tensor:
        """(text_len, d_model): action then event embeddings, zero-padded."""
        return self.encode_batch([(action_text, event_text)])[0]

    def encode_batch(self, captions: list[tuple[str, str | None]]) -> torch.Tensor:
        """(B, text_len, d_model) for (action_text, event_text or None) pairs; both parts cached."""
        pairs = _check_captions(captions)
        parts = self._cache.lookup([a for a, _ in pairs] + [e for _, e in pairs if e])
        out = torch.zeros(len(pairs), self.text_len, self.d_model, device=self.device,
                          dtype=self.model.shared.weight.dtype)
        for i, (action, event) in enumerate(pairs):
            joined = torch.cat([parts[action]] + ([parts[event]] if event else []))  # (L, d)
            if joined.shape[0] > self.text_len:
                warnings.warn(f"caption {i} has {joined.shape[0]} tokens, more than text_len "
                              f"{self.text_len}; the event is cut", stacklevel=2)
            n = min(joined.shape[0], self.text_len)
            out[i, :n] = joined[:n]
        return out  # (B, text_len, d_model)

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size of the caption-part cache (action and event texts)."""
        return self._cache.info()

    def clear_cache(self) -> None:
        """Forget all cached embeddings and reset the statistics."""
        self._cache.clear()


def _check_text(text: object, name: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}: {text!r}")
    if not text.strip():
        raise ValueError(f"{name} is empty; pass a caption text")


def _check_captions(captions: object) -> list[tuple[str, str | None]]:
    if not isinstance(captions, (list, tuple)) or not captions:
        raise ValueError(f"captions must be a non-empty list of (action_text, event_text) pairs, "
                         f"got {captions!r}")
    pairs = []
    for i, caption in enumerate(captions):
        if not isinstance(caption, (list, tuple)) or len(caption) != 2:
            raise TypeError(f"captions[{i}] must be an (action_text, event_text) pair, "
                            f"got {caption!r}")
        action, event = caption
        _check_text(action, f"captions[{i}] action text")
        if event is not None and not isinstance(event, str):
            raise TypeError(f"captions[{i}] event text must be a str or None, "
                            f"got {type(event).__name__}")
        pairs.append((action, event or None))
    return pairs


class TextEncoderSource(NamedTuple):
    """Where the text encoder is: ``kind`` "native" (one .pth) or "hf" (transformers folder)."""

    kind: str
    files: list[Path]
    config: UMT5Config
    tokenizer_dir: Path | None


def find_text_encoder(path: str | os.PathLike) -> TextEncoderSource:
    """Locate the text encoder and its tokenizer in a checkpoint directory (or a .pth file,
    or a ``text_encoder/`` folder). The tokenizer folder is None when none is found."""
    path = Path(path)
    if path.is_file() and path.suffix == ".pth":
        return TextEncoderSource("native", [path], umt5_xxl_config(), None)
    tokenizer_dir = next((d for d in (path / NATIVE_TOKENIZER_DIR, path / HF_TOKENIZER_DIR)
                          if d.is_dir()), None)
    if (path / NATIVE_FILE).is_file():
        return TextEncoderSource("native", [path / NATIVE_FILE], umt5_xxl_config(), tokenizer_dir)
    for folder in (path / HF_MODEL_DIR, path):
        config = _hf_config(folder)
        if config is not None:
            files = safetensors_files(folder, HF_STEM)
            return TextEncoderSource("hf", files, config, tokenizer_dir)
    raise FileNotFoundError(
        f"no text encoder at {str(path)!r}: expected {NATIVE_FILE} (with the "
        f"{NATIVE_TOKENIZER_DIR}/ tokenizer folder) or {HF_MODEL_DIR}/ and "
        f"{HF_TOKENIZER_DIR}/ folders"
    )


def _hf_config(folder: Path) -> UMT5Config | None:
    """The UMT5Config in ``folder``/config.json, or None if it holds no umt5 config."""
    data = tagged_config(folder, "model_type", "umt5")
    if data is None:
        return None
    check_limits(f"text encoder config {str(folder / 'config.json')!r}", data, UMT5_LIMITS)
    return UMT5Config.from_dict(data)


def meta_umt5(config: UMT5Config) -> UMT5EncoderModel:
    """A ``UMT5EncoderModel`` of ``config`` on the meta device (structure, no memory)."""
    with torch.device("meta"):
        return UMT5EncoderModel(config)


def expected_manifest(source: TextEncoderSource) -> dict[str, tuple[int, ...]]:
    """Names and shapes the files of ``source`` must hold, in the files' own naming."""
    model = meta_umt5(source.config)
    return wan_manifest(model) if source.kind == "native" else hf_manifest(model)


def load_tokenizer(folder: str | os.PathLike) -> Any:
    """The umt5 tokenizer saved in ``folder`` (tokenizer.json or spiece.model), offline."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no tokenizer folder at {str(folder)!r}")
    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, ImportError) as err:
        raise ValueError(f"cannot load the tokenizer in {str(folder)!r} ({err})") from err


def load_umt5(path: str | os.PathLike, tokenizer: str | os.PathLike | None = None,
              device: torch.device | str | None = None, dtype: torch.dtype | None = None,
              offload: bool = False, config: UMT5Config | None = None,
              text_len: int = TEXT_LEN) -> UMT5TextEncoder:
    """Load the text encoder strictly from a checkpoint directory, a .pth or a ``text_encoder/``.

    ``tokenizer`` overrides the tokenizer folder found beside the weights; ``dtype=None``
    keeps the stored dtype; ``config`` replaces the umt5-xxl config for a Wan-native file
    (small test models). With ``offload`` the weights stay on the CPU between calls.
    """
    source = find_text_encoder(path)
    if config is not None and source.kind == "native":
        source = source._replace(config=config)
    tokenizer_dir = Path(tokenizer) if tokenizer is not None else source.tokenizer_dir
    if tokenizer_dir is None:
        raise FileNotFoundError(f"no tokenizer folder beside {str(path)!r}; pass tokenizer=DIR "
                                f"(the {NATIVE_TOKENIZER_DIR} folder of the release)")
    model = meta_umt5(source.config)
    state = _read_state(source, model)
    check_weight_values(state, str(path))
    if dtype is None:
        dtype = state["shared.weight"].dtype
    target = torch.device("cpu") if offload or device is None else torch.device(device)
    state = {k: t.to(device=target, dtype=dtype) for k, t in state.items()}
    state[TIED_ALIAS] = state["shared.weight"]  # one tensor for both names: no second copy
    model.load_state_dict(state, strict=True, assign=True)
    model.set_input_embeddings(model.shared)  # re-tie encoder.embed_tokens to shared
    return UMT5TextEncoder(model, load_tokenizer(tokenizer_dir), text_len=text_len,
                           device=device, offload=offload)


def _read_state(source: TextEncoderSource, model: UMT5EncoderModel) -> dict[str, torch.Tensor]:
    """The checked tensors of ``source`` under ``model``'s names (tied alias left out)."""
    if source.kind == "native":
        tensors = load_pth(source.files[0])
        check_manifest(tensor_infos(tensors), wan_manifest(model), str(source.files[0]))
        return wan_to_hf_state(tensors, model)
    tensors = {}
    for file in source.files:
        tensors.update(load_safetensors(file))
    tensors = fold_tied(tensors)
    check_manifest(tensor_infos(tensors), hf_manifest(model), str(source.files[0].parent))
    return tensors


def save_umt5(encoder: UMT5TextEncoder, path: str | os.PathLike) -> Path:
    """Write the encoder's weights as a Wan-native ``.pth`` (Wan module names), atomically."""
    path = Path(path)
    if path.suffix != ".pth":
        raise ValueError(f"Wan-native text encoder file {str(path)!r} must end in .pth")
    state = hf_to_wan_state(encoder.model)
    return save_pth({k: t.detach().to("cpu").contiguous() for k, t in state.items()}, path)
