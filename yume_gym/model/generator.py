"""Build, save and load the generator; every load is strict.

Two checkpoint layouts are read: a released Yume-5B-720P directory (Wan-native names, TSCM
history, no channel branch) and our own ``.safetensors`` file whose metadata holds the full
:class:`GeneratorConfig`. Models are built on the meta device, then the checked tensors are
assigned. The layouts in detail: docs/architecture.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from yume_gym.model.config import GeneratorConfig, resolve_config
from yume_gym.model.dit import YumeDiT
from yume_gym.model.safe_load import check_weight_values
from yume_gym.model.weights_file import read_weights, save_weights

GENERATOR_KIND = "yume_gym.generator"
OWN_FILE = "generator.safetensors"
RELEASED_CONFIG = "config.json"
DIT_STEM = "diffusion_pytorch_model"  # the released weights file: DIT_STEM.safetensors or its shards
RELEASED_WEIGHTS = "diffusion_pytorch_model.safetensors"
RELEASED_INDEX = "diffusion_pytorch_model.safetensors.index.json"
# WanModel.__init__ defaults, used for fields a released config.json leaves out.
WAN_DEFAULTS: dict[str, Any] = dict(
    patch_size=(1, 2, 2),
    text_len=512,
    in_dim=16,
    dim=2048,
    ffn_dim=8192,
    freq_dim=256,
    text_dim=4096,
    out_dim=16,
    num_heads=16,
    num_layers=32,
    qk_norm=True,
    cross_attn_norm=True,
    eps=1e-6,
)
WAN_MODEL_TYPES = ("t2v", "ti2v")


def _resolve_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    resolved = getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
        raise ValueError(
            f"dtype={dtype!r} is not a floating torch dtype; use e.g. 'float32' or 'bfloat16'"
        )
    return resolved


def _meta_model(config: GeneratorConfig, dtype: torch.dtype | None) -> YumeDiT:
    with torch.device("meta"):
        model = YumeDiT(config)
    return model.to(dtype=dtype) if dtype is not None else model


def build_generator(
    preset: str | GeneratorConfig = "tiny",
    device: torch.device | str | None = None,
    dtype: torch.dtype | str | None = None,
) -> YumeDiT:
    """A freshly initialised generator from a preset name (see ``PRESETS``) or a config.

    ``device="meta"`` builds the structure without memory (e.g. to inspect the 5B model).
    Initialisation draws from torch's global RNG: seed it for reproducible weights.
    """
    model = _meta_model(resolve_config(preset), _resolve_dtype(dtype))
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "meta":
        return model
    model.to_empty(device=device)
    model.init_weights()
    return model


def save_generator(model: YumeDiT, path: str | os.PathLike) -> None:
    """Write ``model`` (weights and config) atomically to ``path``.

    ``path`` ending in ``.safetensors`` is the file itself; any other path is a directory
    (created if needed) that receives ``generator.safetensors``.
    """
    if not isinstance(model, YumeDiT):
        raise TypeError(f"save_generator takes a YumeDiT, not {type(model).__name__}")
    if any(p.is_meta for p in model.parameters()):
        raise ValueError(
            "the model is on the meta device (no weights); build or load it on a real device"
        )
    path = Path(path)
    save_weights(
        model,
        path if path.suffix == ".safetensors" else path / OWN_FILE,
        GENERATOR_KIND,
        model.config,
    )


def load_generator(
    path_or_name: str | os.PathLike,
    device: torch.device | str | None = None,
    dtype: torch.dtype | str | None = None,
) -> YumeDiT:
    """Load a generator from a released-layout directory or a file/directory of ours, strictly.

    ``dtype=None`` keeps the dtype the weights are stored in. Missing paths raise
    FileNotFoundError; unreadable files and any missing, unexpected or mis-shaped tensor raise
    one ValueError that lists them all.
    """
    path = Path(path_or_name)
    if path.is_dir() and (path / OWN_FILE).is_file():
        path = path / OWN_FILE
    if path.name == RELEASED_WEIGHTS and (path.parent / RELEASED_CONFIG).is_file():
        path = path.parent
    if path.is_file():
        config_dict, tensors = read_weights(path, GENERATOR_KIND)
        config = GeneratorConfig.from_dict(config_dict, source=str(path))
    elif path.is_dir() and (path / RELEASED_CONFIG).is_file():
        config = released_config(_read_json(path / RELEASED_CONFIG), str(path / RELEASED_CONFIG))
        tensors = _read_released_tensors(path, device)
    else:
        raise FileNotFoundError(
            f"no generator checkpoint at {str(path)!r}: expected a .safetensors file written by "
            f"save_generator, a directory with {OWN_FILE}, or a released directory with "
            f"{RELEASED_CONFIG} and {RELEASED_WEIGHTS}"
        )
    return _assemble(config, tensors, str(path), device, _resolve_dtype(dtype))


def released_config(data: dict[str, Any], source: str = RELEASED_CONFIG) -> GeneratorConfig:
    """The GeneratorConfig of a released (Wan-format) ``config.json`` dict."""
    if not isinstance(data, dict):
        raise ValueError(
            f"{source} must hold a JSON object of WanModel fields; got {type(data).__name__}"
        )
    if data.get("_class_name") == "WanTransformer3DModel":
        raise ValueError(
            f"{source} is a diffusers-format transformer; pass the Wan-native "
            "Yume/Wan2.2 directory (config.json with dim, num_heads, ...)"
        )
    model_type = data.get("model_type", "t2v")
    if model_type not in WAN_MODEL_TYPES:
        raise ValueError(
            f"{source}: model_type={model_type!r} is not supported; "
            f"expected one of {WAN_MODEL_TYPES}"
        )
    if list(data.get("window_size", (-1, -1))) != [-1, -1]:
        raise ValueError(
            f"{source}: window_size={data['window_size']!r}; "
            "only full attention (-1, -1) is supported"
        )
    known = set(WAN_DEFAULTS) | {"model_type", "window_size"}
    unknown = sorted(k for k in data if k not in known and not k.startswith("_"))
    if unknown:
        raise ValueError(
            f"{source} has unknown WanModel field(s) {unknown}; known: {sorted(known)}"
        )
    fields = {k: data.get(k, default) for k, default in WAN_DEFAULTS.items()}
    return GeneratorConfig(**fields, history_mode="tscm", channel_branch=False)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a readable JSON file ({err})") from err


def _read_released_tensors(
    directory: Path, device: torch.device | str | None
) -> dict[str, torch.Tensor]:
    """All tensors of a released directory (single file or shards listed by the index)."""
    single, index = directory / RELEASED_WEIGHTS, directory / RELEASED_INDEX
    if single.is_file():
        files = [single]
    elif index.is_file():
        index_data = _read_json(index)
        weight_map = index_data.get("weight_map") if isinstance(index_data, dict) else None
        if not isinstance(weight_map, dict):
            raise ValueError(f"{str(index)!r} has no 'weight_map'; it is not a safetensors index")
        files = [directory / name for name in sorted(set(weight_map.values()))]
    else:
        raise FileNotFoundError(
            f"{str(directory)!r} has {RELEASED_CONFIG} but no {RELEASED_WEIGHTS} "
            f"(nor {RELEASED_INDEX})"
        )
    target = str(torch.device(device)) if device is not None else "cpu"
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"weight shard {str(file)!r} listed in the index is missing")
        try:
            with safe_open(str(file), framework="pt", device=target) as f:
                tensors.update({name: f.get_tensor(name) for name in f.keys()})
        except (SafetensorError, OSError, ValueError) as err:
            raise ValueError(f"{str(file)!r} is not a readable safetensors file ({err})") from err
    return tensors


def check_tensors(model: YumeDiT, tensors: dict[str, torch.Tensor], source: str) -> None:
    """One ValueError listing every missing, unexpected and mis-shaped tensor, if any."""
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    mis_shaped = sorted(
        name
        for name in set(expected) & set(tensors)
        if tuple(tensors[name].shape) != expected[name]
    )
    if not (missing or unexpected or mis_shaped):
        return
    c = model.config
    lines = [
        f"weights in {source!r} do not match the generator built from its config "
        f"(dim={c.dim}, num_layers={c.num_layers}, in_dim={c.in_dim}, "
        f"channel_branch={c.channel_branch}):"
    ]
    lines += [f"  missing: {name} {list(expected[name])}" for name in missing]
    lines += [f"  unexpected: {name} {list(tensors[name].shape)}" for name in unexpected]
    lines += [
        f"  shape: {name}: file {list(tensors[name].shape)} vs model {list(expected[name])}"
        for name in mis_shaped
    ]
    raise ValueError("\n".join(lines))


def _assemble(
    config: GeneratorConfig,
    tensors: dict[str, torch.Tensor],
    source: str,
    device: torch.device | str | None,
    dtype: torch.dtype | None,
) -> YumeDiT:
    """Meta-build the model, check the tensors against it, then assign them (cast, moved)."""
    if dtype is None:
        stored = tensors.get("patch_embedding.weight")
        dtype = stored.dtype if stored is not None and stored.is_floating_point() else torch.float32
    model = _meta_model(config, dtype)
    check_tensors(model, tensors, source)
    check_weight_values(tensors, source)
    device = torch.device(device) if device is not None else torch.device("cpu")
    state = {
        name: t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)
        for name, t in tensors.items()
    }
    model.load_state_dict(state, strict=True, assign=True)
    return model
