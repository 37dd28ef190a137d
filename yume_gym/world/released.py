"""The released Yume-5B as a world model: a checkpoint directory in, a :class:`WorldModel` out.

:func:`load_yume5b` reads a Yume-5B-720P directory (the layout ``yume-gym doctor DIR``
checks), loads its generator, codec and text encoder strictly, and assembles them with the
released generation settings (:func:`released_generation`). The files, the settings, the
errors and the cache: docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import UMT5Config

from yume_gym.actions import SpeedSuffix
from yume_gym.images import MAX_FRAME_SIDE
from yume_gym.model import load_generator
from yume_gym.model.generator import DIT_STEM, RELEASED_CONFIG
from yume_gym.model.safe_load import safetensors_files
from yume_gym.model.tscm import MAX_HISTORY
from yume_gym.model.umt5 import find_text_encoder, load_umt5
from yume_gym.model.wan_vae import find_vae, load_wan_vae
from yume_gym.world.bundle import GenerationConfig, WorldModel, resolve_dtype

RESOLUTIONS: dict[str, tuple[int, int]] = {"704x1280": (704, 1280), "544x960": (544, 960)}
DEFAULT_RESOLUTION = "704x1280"
CHUNK_LATENTS = 8
STEPS, SHIFT = 4, 7.0
FPS = 16
IMAGE_HISTORY_LATENTS = 5
RELEASED_SPEED = SpeedSuffix(distance=4.0, turn_speed=4.0, view_speed=4.0)
DOWNLOAD_HINT = "the Yume-5B-720P directory from https://huggingface.co/stdstu123/Yume-5B-720P"


def released_generation(frame_size: tuple[int, int], **changes: Any) -> GenerationConfig:
    """The released generation settings at ``frame_size`` = (height, width); ``changes``
    replace fields (``speed=``, ``caption_composition=``, ...)."""
    height, width = frame_size
    released = GenerationConfig(
        frame_height=height, frame_width=width, chunk_latents=CHUNK_LATENTS, fps=FPS,
        steps=STEPS, shift=SHIFT, speed=RELEASED_SPEED, max_history_latents=MAX_HISTORY,
        image_history_latents=IMAGE_HISTORY_LATENTS, caption_composition="joined",
    )  # fmt: skip
    return dataclasses.replace(released, **changes)


def resolution_size(resolution: str,
                    frame_size_override: tuple[int, int] | None = None) -> tuple[int, int]:
    """(height, width) of a released ``resolution`` name, or ``frame_size_override`` when given."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution {resolution!r} is not a released Yume-5B resolution; "
                         f"use one of {list(RESOLUTIONS)}")
    override = frame_size_override
    if override is None:
        return RESOLUTIONS[resolution]
    if not (isinstance(override, (tuple, list)) and len(override) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_FRAME_SIDE for v in override)):
        raise ValueError(f"frame_size_override={override!r} must be None or (height, width), "
                         f"two ints in 1..{MAX_FRAME_SIDE}")
    return int(override[0]), int(override[1])


def doctor_hint(directory: str | os.PathLike) -> str:
    """The sentence that sends the user to the doctor for ``directory``."""
    return f"run `yume-gym doctor {directory}` to check every file of the directory"


def component_problems(directory: Path) -> tuple[list[str], list[str]]:
    """(missing, unreadable): what of the released layout ``directory`` lacks, and what it
    cannot read (a malformed config or index). Both empty when every component is there.

    Uses the finders of ``yume-gym doctor``; tensor files are not opened here.
    """
    missing: list[str] = []
    unreadable: list[str] = []

    def look(component: str, find: Callable[[], Any]) -> Any:
        try:
            return find()
        except FileNotFoundError as err:
            missing.append(f"{component}: {err}")
        except ValueError as err:
            unreadable.append(f"{component}: {err}")
        return None

    if not (directory / RELEASED_CONFIG).is_file():
        missing.append(f"generator: no {RELEASED_CONFIG}")
    look("generator", lambda: safetensors_files(directory, DIT_STEM))
    look("VAE", lambda: find_vae(directory))
    text_source = look("text encoder", lambda: find_text_encoder(directory))
    if text_source is not None and text_source.tokenizer_dir is None:
        missing.append("tokenizer: no google/umt5-xxl/ or tokenizer/ folder")
    return missing, unreadable


def _checked_directory(checkpoint_dir: str | os.PathLike) -> Path:
    """``checkpoint_dir`` resolved, once every component of the released layout is found."""
    if not isinstance(checkpoint_dir, (str, os.PathLike)):
        raise TypeError(f"checkpoint_dir must be a directory path, got "
                        f"{type(checkpoint_dir).__name__}; pass {DOWNLOAD_HINT}")
    directory = Path(checkpoint_dir).expanduser().resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"no Yume-5B checkpoint directory at {str(directory)!r}; "
                                f"pass {DOWNLOAD_HINT}")
    missing, unreadable = component_problems(directory)
    if missing or unreadable:
        lines = "".join(f"\n  - {p}" for p in missing + unreadable)
        error = FileNotFoundError if missing else ValueError
        raise error(f"{str(directory)!r} is not a usable Yume-5B checkpoint directory:{lines}\n"
                    f"{doctor_hint(directory)}")
    return directory


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _config_key(config: Any) -> str:
    """A stable text of a VAE config dict or a UMT5Config; "" for None (the released ones)."""
    if config is None:
        return ""
    if isinstance(config, UMT5Config):
        return config.to_json_string(use_diff=False)
    return json.dumps(config, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Yume5BOptions:
    checkpoint_dir: str | os.PathLike | None = None
    """the Yume-5B-720P directory (check it with ``yume-gym doctor DIR``)"""
    resolution: str = DEFAULT_RESOLUTION
    """"704x1280" or "544x960", the generated frame size"""
    device: torch.device | str | None = None
    """where every component runs (None: CUDA when available, else the CPU)"""
    dtype: torch.dtype | str = torch.bfloat16
    """the components' precision (bfloat16 as released)"""
    offload_text_encoder: bool = False
    """keep the 11 GB umt5 weights on the CPU between encodings"""
    vae_tiling: bool = False
    """encode and decode in spatial tiles (bounds the VAE's activation memory)"""
    frame_size_override: tuple[int, int] | None = None
    """generate at this (height, width) instead of the resolution's (small test models)"""
    vae_config: dict[str, Any] | None = None
    """replaces the Wan2.2 VAE configuration for Wan-native files (small test models)"""
    text_config: UMT5Config | None = None
    """replaces the umt5-xxl configuration for Wan-native files (small test models)"""
    caption_composition: str = "joined"
    """"joined" (one string per chunk, as the released inference) or "split" (as trained)"""
    speed: SpeedSuffix | None = RELEASED_SPEED
    """the speed sentence of the action captions (None leaves it out)"""
    compile: str | None = None
    """torch.compile mode of the DiT blocks: None (eager), "default", "reduce-overhead" (CUDA graphs)"""
    quantize: str | None = None
    """torchao weight quantisation of the DiT blocks' linears: None, "int8" or "fp8" (CUDA, sm >= 8.9)"""

    @classmethod
    def build(cls, options: Yume5BOptions | None = None, **kwargs: Any) -> Yume5BOptions:
        """``options`` (or the defaults) with ``kwargs`` replacing fields of the same name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown Yume-5B argument(s) {unknown}; known arguments: {sorted(known)}")
        return dataclasses.replace(options or cls(), **kwargs)

    def cache_key(self) -> tuple:
        return (str(self.checkpoint_dir), str(self.device), self.dtype, self.resolution, self.frame_size_override,
                bool(self.offload_text_encoder), bool(self.vae_tiling), _config_key(self.vae_config),
                _config_key(self.text_config), self.caption_composition, self.speed, self.compile, self.quantize)


def _read(directory: Path, options: Yume5BOptions, generation: GenerationConfig) -> WorldModel:
    """Load the three components strictly and bundle them with ``generation`` (no caching)."""
    device, dtype = options.device, options.dtype
    try:
        generator = load_generator(directory, device=device, dtype=dtype)
        codec = load_wan_vae(directory, device=device, dtype=dtype, tiling=options.vae_tiling,
                             config=options.vae_config)
        text_encoder = load_umt5(directory, device=device, dtype=dtype, offload=options.offload_text_encoder,
                                 config=options.text_config, text_len=generator.config.text_len)
    except ValueError as err:
        raise ValueError(f"{err}\n{doctor_hint(directory)}") from err
    return WorldModel(generator, codec, text_encoder, generation,
                      is_trained=True, source=f"Yume-5B {str(directory)!r}")


_CACHE: dict[tuple, WorldModel] = {}
_CACHE_LOCK = threading.Lock()


def load_yume5b(source: str | os.PathLike | Yume5BOptions, **overrides: Any) -> WorldModel:
    """The released Yume-5B as a :class:`WorldModel` (see the module doc).

    ``source`` is the checkpoint directory or a :class:`Yume5BOptions`; keyword arguments replace
    its fields (``resolution=``, ``device=``, ``dtype=``, ``offload_text_encoder=``, ...). Prompt
    and event texts are encoded at every step, so with ``offload_text_encoder`` each step also
    moves the umt5 weights to the device and back. One instance per (directory, device, dtype,
    settings) per process; treat it as read-only.
    """
    base = source if isinstance(source, Yume5BOptions) else Yume5BOptions(checkpoint_dir=source)
    options = Yume5BOptions.build(base, **overrides)
    # built first, so that a bad resolution or setting fails before any file is read
    generation = released_generation(resolution_size(options.resolution, options.frame_size_override),
                                     caption_composition=options.caption_composition, speed=options.speed,
                                     compile=options.compile, quantize=options.quantize)
    directory = _checked_directory(options.checkpoint_dir)
    options = dataclasses.replace(
        options, checkpoint_dir=directory, dtype=resolve_dtype(options.dtype),
        device=_default_device() if options.device is None else torch.device(options.device))
    key = options.cache_key()
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _read(directory, options, generation)
        return _CACHE[key]


def clear_yume5b_cache() -> None:
    """Forget every cached Yume-5B model (the next load reads the weights again)."""
    with _CACHE_LOCK:
        _CACHE.clear()
