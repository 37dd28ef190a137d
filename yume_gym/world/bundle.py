"""The world model bundle: generator, codec, text encoder and the settings to generate with.

A :class:`WorldModel` is everything a world session needs; it is saved as a directory and
loaded strictly. :func:`load_world_model` with no checkpoint returns the embedded default
shipped in ``yume_gym/weights/``. The directory layout, caching and the generation settings:
docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import torch
from torch import nn

from yume_gym.actions import SpeedSuffix
from yume_gym.atomic_file import write_text_atomic
from yume_gym.images import MAX_FRAME_SIDE
from yume_gym.model import PRESETS, YumeDiT, build_generator, load_generator, save_generator
from yume_gym.model.dit import COMPILE_MODES
from yume_gym.model.quantize import QUANTIZATIONS, quantize_blocks
from yume_gym.model.codec import CodecConfig, LatentCodec, build_codec, load_codec, save_codec
from yume_gym.model.text_encoder import (
    TextEncoder,
    TextEncoderConfig,
    build_text_encoder,
    load_text_encoder,
    save_text_encoder,
)
from yume_gym.model.tscm import MAX_HISTORY
from yume_gym.sampling import FlowSchedule
from yume_gym.world.captions import check_composition

if TYPE_CHECKING:  # the released components pull in diffusers: imported for type hints only
    from yume_gym.model.umt5 import UMT5TextEncoder
    from yume_gym.model.wan_vae import WanVAE

Codec = Union[LatentCodec, "WanVAE"]
CaptionEncoder = Union[TextEncoder, "UMT5TextEncoder"]

BUNDLE_KIND = "yume_gym.world_model"  # the format name written in world_model.json (kept across renames)
MANIFEST = "world_model.json"
GENERATOR_FILE = "generator.safetensors"
CODEC_FILE = "codec.safetensors"
TEXT_ENCODER_FILE = "text_encoder.safetensors"
EMBEDDED_DIR = Path(__file__).parents[1] / "weights"
RANDOM_BUNDLE_SEED = 0
RUNTIME_SETTINGS = ("compile", "quantize")  # GenerationConfig fields that act on the loaded generator
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class GenerationConfig:
    """How a world model generates: run-time settings, changeable without touching the weights
    (:func:`with_generation`). Guidance, image starts and residual sampling: docs/architecture.md."""

    frame_height: int = 64
    """generated frame height in pixels (the release: 704 or 544)"""
    frame_width: int = 64
    """generated frame width in pixels (the release: 1280 or 960)"""
    chunk_latents: int = 2
    """latent frames sampled per step (the release: 8, about 29 video frames)"""
    fps: int = 16
    """frames per second of the generated video"""
    steps: int = 4
    """Euler steps of the flow schedule (the release: 4)"""
    shift: float = 7.0
    """timestep shift of the flow schedule (the release: 7)"""
    speed: SpeedSuffix | None = field(default_factory=SpeedSuffix)
    """the speed sentence appended to action captions; None leaves it out"""
    max_history_latents: int | None = MAX_HISTORY
    """longer histories drop their oldest latents after the first; None keeps all"""
    default_prompt: str = ""
    """the prompt of a world started with neither an image nor a prompt"""
    image_history_latents: int | None = None
    """latents of the repeated start image kept as history (the release: 5); None keeps a chunk"""
    guidance: float = 1.0
    """classifier-free guidance scale on the whole caption (1: none, as released)"""
    movement_guidance: float = 1.0
    """guidance toward the caption's movement keys (1: off)"""
    rotation_guidance: float = 1.0
    """guidance toward the caption's camera turn (1: off)"""
    event_guidance: float = 1.0
    """guidance toward the active event (1: off)"""
    residual_scale: float | None = None
    """None samples the latents (the release); a number samples their change from the last history latent"""
    caption_composition: str = "split"
    """"split" (action and scene text encoded apart, as trained) or "joined" (one string, as released)"""
    compile: str | None = None
    """torch.compile the generator's blocks: None, "default" or "reduce-overhead" (CUDA graphs)"""
    quantize: str | None = None
    """torchao weight quantisation of the blocks' linears: None, "int8" or "fp8" (not saved with the bundle)"""

    def __post_init__(self) -> None:
        check_composition(self.caption_composition)
        if self.compile is not None and self.compile not in COMPILE_MODES:
            raise ValueError(f"compile={self.compile!r} is not known; use None or one of {list(COMPILE_MODES)}")
        if self.quantize is not None and self.quantize not in QUANTIZATIONS:
            raise ValueError(f"quantize={self.quantize!r} is not known; use None or one of {list(QUANTIZATIONS)}")
        limits = {"frame_height": MAX_FRAME_SIDE, "frame_width": MAX_FRAME_SIDE, "chunk_latents": 4 * 8, "fps": 240}
        for name, limit in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                raise ValueError(f"GenerationConfig.{name}={value!r} must be an integer in 1..{limit}")
        FlowSchedule(self.steps, self.shift)  # validates steps and shift
        limit = self.max_history_latents
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or not 2 * self.chunk_latents <= limit <= 4 * MAX_HISTORY):
            raise ValueError(f"max_history_latents={limit!r} must be None or an integer in "
                             f"2 * chunk_latents..{4 * MAX_HISTORY}")
        for name in ("guidance", "movement_guidance", "rotation_guidance", "event_guidance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 30.0:
                raise ValueError(f"{name}={value!r} must be a number in 0..30 (1 = no guidance)")
        scale = self.residual_scale
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0):
            raise ValueError(f"residual_scale={scale!r} must be None or a positive number")
        kept = self.image_history_latents
        if kept is not None and (not isinstance(kept, int) or not 1 <= kept <= self.chunk_latents):
            raise ValueError(
                f"image_history_latents={kept!r} must be None or an integer in 1..chunk_latents ({self.chunk_latents})"
            )

    @property
    def schedule(self) -> FlowSchedule:
        return FlowSchedule(self.steps, self.shift)

    def to_dict(self) -> dict[str, Any]:
        """The settings to save (run-time settings left out)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in RUNTIME_SETTINGS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str) -> GenerationConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"generation settings in {source!r} have unknown field(s) {unknown}")
        data = dict(data)
        if data.get("speed") is not None:
            if not isinstance(data["speed"], dict):
                raise ValueError(f"generation settings in {source!r}: speed={data['speed']!r} must be an object or null")
            data["speed"] = SpeedSuffix(**data["speed"])
        return cls(**data)


class WorldModel:
    """Generator + codec + text encoder + generation settings, on one device and dtype.

    The codec is the small ``LatentCodec`` or the released ``WanVAE``, the text encoder the
    small ``TextEncoder`` or the released ``UMT5TextEncoder`` (see :mod:`yume_gym.world.released`):
    they share one interface. ``is_trained`` is False for the random-weight stand-in of the
    embedded model; ``source`` says where the weights came from.
    """

    def __init__(
        self,
        generator: YumeDiT,
        codec: Codec,
        text_encoder: CaptionEncoder,
        generation: GenerationConfig,
        is_trained: bool,
        source: str,
    ) -> None:
        self.generator, self.codec, self.text_encoder = generator, codec, text_encoder
        self.generation = generation
        self.is_trained = bool(is_trained)
        self.source = source
        _check_compatible(generator, codec, text_encoder, generation)
        for module in (generator, codec, text_encoder):
            module.eval().requires_grad_(False)
        quantize_blocks(generator, generation.quantize)
        generator.compile_blocks(generation.compile)

    def __deepcopy__(self, memo: dict) -> WorldModel:
        """A world model is shared, read-only state: copying an env's spec or kwargs keeps
        pointing at the same weights instead of duplicating them."""
        return self

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.generator.parameters()).dtype

    @property
    def frame_size(self) -> tuple[int, int]:
        """(height, width) of generated frames."""
        return self.generation.frame_height, self.generation.frame_width

    @property
    def fps(self) -> int:
        return self.generation.fps

    @property
    def schedule(self) -> FlowSchedule:
        return self.generation.schedule

    @property
    def speed(self) -> SpeedSuffix | None:
        return self.generation.speed

    @property
    def max_history_latents(self) -> int | None:
        return self.generation.max_history_latents

    @property
    def chunk_frames(self) -> int:
        """Video frames decoded from one chunk."""
        return self.codec.video_frames(self.generation.chunk_latents)

    @property
    def chunk_latent_shape(self) -> tuple[int, int, int, int]:
        """(C, F, h, w) of one chunk of latents."""
        s = self.codec.spatial_stride
        g = self.generation
        return self.codec.latent_channels, g.chunk_latents, g.frame_height // s, g.frame_width // s

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> WorldModel:
        """Move every component (in place); returns self."""
        for module in (self.generator, self.codec, self.text_encoder):
            module.to(device=device, dtype=dtype)
        return self

    def describe(self) -> str:
        """One line for logs and demos: what the model is and whether it was trained."""
        state = "trained" if self.is_trained else "RANDOM WEIGHTS (untrained stand-in)"
        h, w = self.frame_size
        return f"world model {self.display_source}: {state}, {h}x{w} frames, {self.chunk_frames} frames/chunk at {self.fps} fps"

    @property
    def display_source(self) -> str:
        """Where the weights came from, for reports: the embedded model is named as such (a
        report written from an installed package then reads the same on every machine)."""
        if self.source and Path(self.source).resolve() == EMBEDDED_DIR.resolve():
            return "embedded (yume_gym/weights)"
        return self.source


def with_generation(model: WorldModel, **changes) -> WorldModel:
    """The same weights with other generation settings (e.g. ``steps=50``, ``max_history_latents=8``)."""
    generation = dataclasses.replace(model.generation, **changes)
    return WorldModel(model.generator, model.codec, model.text_encoder, generation, model.is_trained, model.source)


def _check_compatible(generator: nn.Module, codec: Codec, text: CaptionEncoder, gen: GenerationConfig) -> None:
    cfg = generator.config
    problems = []
    if cfg.in_dim != codec.latent_channels:
        problems.append(f"generator in_dim {cfg.in_dim} != codec latent_channels {codec.latent_channels}")
    if cfg.text_dim != text.d_model:
        problems.append(f"generator text_dim {cfg.text_dim} != text encoder d_model {text.d_model}")
    if text.text_len > cfg.text_len:
        problems.append(f"text encoder text_len {text.text_len} > generator text_len {cfg.text_len}")
    s = codec.spatial_stride
    if gen.frame_height % s or gen.frame_width % s:
        problems.append(f"frame size {gen.frame_height}x{gen.frame_width} is not a multiple of the codec stride {s}")
    if problems:
        raise ValueError("world model components do not fit together: " + "; ".join(problems))


def build_world_model(
    preset: str = "tiny",
    frame_size: int = 64,
    chunk_latents: int = 2,
    temporal_stride: int = 4,
    seed: int = RANDOM_BUNDLE_SEED,
    live_head: bool = False,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | str = torch.float32,
) -> WorldModel:
    """A random-weight bundle around the generator ``preset``, reproducible from ``seed``.

    The codec (stride 8 in space, ``temporal_stride`` in time, as the Wan VAE's 4) and the
    text encoder are sized to fit the generator; frames are ``frame_size`` squared. The
    generator's ``text_len`` is set to the text encoder's (512): its byte-level tokens make an
    action caption alone 189-254 tokens long, so a shorter text length would cut the events.

    With ``live_head=False`` the output head starts at zero, the training initialisation, so the
    untrained generator returns its input noise. ``live_head=True`` gives the head small random
    weights so that every input (actions, text, history) reaches the output: the random
    stand-in of the embedded model uses it, so its frames depend on what the agent does.
    """
    dtype = resolve_dtype(dtype)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_config = TextEncoderConfig(d_model=PRESETS[preset].text_dim)
        generator = build_generator(dataclasses.replace(PRESETS[preset], text_len=text_config.text_len))
        if live_head:
            nn.init.normal_(generator.head.head.weight, std=0.02)
        codec_config = CodecConfig(image_size=frame_size, latent_channels=generator.config.in_dim,
                                   temporal_stride=temporal_stride)
        codec = build_codec(codec_config)
        text_encoder = build_text_encoder(text_config)
    generation = GenerationConfig(frame_height=frame_size, frame_width=frame_size, chunk_latents=chunk_latents)
    source = f"random {preset} (seed {seed})"
    model = WorldModel(generator, codec, text_encoder, generation, is_trained=False, source=source)
    return model.to(device=device, dtype=dtype)


def save_world_model(model: WorldModel, directory: str | os.PathLike, is_trained: bool | None = None,
                     note: str = "") -> Path:
    """Write ``model`` to ``directory`` (created if needed); the manifest is written last, atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_generator(model.generator, directory / GENERATOR_FILE)
    save_codec(model.codec, directory / CODEC_FILE)
    save_text_encoder(model.text_encoder, directory / TEXT_ENCODER_FILE)
    manifest = {
        "kind": BUNDLE_KIND,
        "generation": model.generation.to_dict(),
        "trained": model.is_trained if is_trained is None else bool(is_trained),
        "note": note,
    }
    write_text_atomic(directory / MANIFEST, json.dumps(manifest, indent=2))
    return directory


def read_world_model(directory: str | os.PathLike, device: torch.device | str = "cpu",
                     dtype: torch.dtype | str = torch.float32) -> WorldModel:
    """Load a bundle written by :func:`save_world_model` (no caching; strict)."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not directory.is_dir():
        raise FileNotFoundError(f"no world model directory at {str(directory)!r}; pass a directory from save_world_model")
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{str(directory)!r} has no {MANIFEST}; it is not a yume_gym world model "
            f"(a released Yume-5B directory goes to yume_gym/Yume5B-v0 instead)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{str(manifest_path)!r} is not valid UTF-8 JSON ({err}); re-save the model") from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("generation", {}), dict):
        raise ValueError(f"{str(manifest_path)!r} holds a JSON {type(manifest).__name__}, not an object with a "
                         "'generation' object; re-save the model with save_world_model")
    if manifest.get("kind") != BUNDLE_KIND:
        raise ValueError(f"{str(manifest_path)!r} has kind {manifest.get('kind')!r}, expected {BUNDLE_KIND!r}")
    generation = GenerationConfig.from_dict(manifest.get("generation", {}), str(manifest_path))
    model = WorldModel(
        load_generator(directory / GENERATOR_FILE),
        load_codec(directory / CODEC_FILE),
        load_text_encoder(directory / TEXT_ENCODER_FILE),
        generation,
        is_trained=bool(manifest.get("trained", False)),
        source=str(directory),
    )
    return model.to(device=device, dtype=resolve_dtype(dtype))


_CACHE: dict[tuple[str, str, torch.dtype], WorldModel] = {}
_CACHE_LOCK = threading.Lock()


def load_world_model(checkpoint: str | os.PathLike | None = None, device: torch.device | str = "cpu",
                     dtype: torch.dtype | str = torch.float32) -> WorldModel:
    """The world model at ``checkpoint`` (a bundle directory), or the embedded default for None.

    One instance per (checkpoint, device, dtype) per process: later calls return the same
    object, so envs built from one spec share weights. Treat it as read-only.
    """
    dtype = resolve_dtype(dtype)
    device_key = str(torch.device(device))
    if checkpoint is None:
        path = EMBEDDED_DIR if (EMBEDDED_DIR / MANIFEST).is_file() else None
    else:
        path = Path(checkpoint).expanduser().resolve()
    key = ("<random tiny>" if path is None else str(path), device_key, dtype)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if path is None:
                _CACHE[key] = build_world_model(live_head=True, device=device, dtype=dtype)
            else:
                _CACHE[key] = read_world_model(path, device=device, dtype=dtype)
        return _CACHE[key]


def clear_world_model_cache() -> None:
    """Forget every cached world model (the next load reads the weights again)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """A torch dtype from a dtype or its name ("float32", "bfloat16", "float16")."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in _DTYPES:
        return _DTYPES[dtype.removeprefix("torch.")]
    raise ValueError(f"dtype {dtype!r} is not supported; use one of {sorted(_DTYPES)} or a torch.dtype")
