"""Self-describing weight files: a safetensors file that also stores the config that built it.

Every small component (codec, text encoder) is saved as one ``.safetensors`` file whose
metadata holds two strings: the component kind (``"yume_gym.codec"``, ...) and its config as
JSON. Loading reads the config, rebuilds the module from it, and copies the tensors name for
name, strictly: any missing, unexpected or mis-shaped tensor is reported in one error.

Tied parameters (two names, one storage, as in T5's shared token embedding) are written once
under their first name and restored to every alias on load.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from yume_gym.atomic_file import atomic_path
from yume_gym.model.safe_load import check_weight_values

KIND_KEY = "yume_gym.kind"
CONFIG_KEY = "yume_gym.config"

ConfigT = TypeVar("ConfigT")
ModuleT = TypeVar("ModuleT", bound=nn.Module)


def _unique_state(module: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The module's state with tied tensors kept once, and a map alias -> kept name."""
    kept: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    owner: dict[tuple[int, int, tuple[int, ...]], str] = {}
    for name, tensor in module.state_dict().items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key in owner:
            aliases[name] = owner[key]
        else:
            owner[key] = name
            kept[name] = tensor
    return kept, aliases


def save_weights(module: nn.Module, path: str | os.PathLike, kind: str, config: Any) -> Path:
    """Write ``module``'s weights and its dataclass ``config`` to ``path`` atomically.

    The file is written next to its destination and moved into place, so a crash never leaves
    a half-written file under the final name. Returns the path written.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"weight file {str(path)!r} must end in .safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors, _ = _unique_state(module)
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    metadata = {KIND_KEY: kind, CONFIG_KEY: json.dumps(dataclasses.asdict(config))}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)
    return path


def read_weights(
    path: str | os.PathLike, kind: str
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config dict, tensors on CPU) from a file written by :func:`save_weights` for ``kind``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no weight file at {str(path)!r}; check the path or save one first"
        )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(
            f"{str(path)!r} is not a readable safetensors file ({err}); re-save it"
        ) from err
    found = metadata.get(KIND_KEY)
    if found != kind:
        raise ValueError(f"{str(path)!r} holds {found!r} weights, not {kind!r}; pass a {kind} file")
    try:
        config = json.loads(metadata[CONFIG_KEY])
    except (KeyError, json.JSONDecodeError) as err:
        raise ValueError(
            f"{str(path)!r} has no valid config in its metadata ({err}); re-save it"
        ) from err
    return config, tensors


def config_from_dict(cls: type[ConfigT], data: dict[str, Any], source: str) -> ConfigT:
    """Build the dataclass ``cls`` from ``data``, rejecting names it does not know."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"config in {source!r} has unknown field(s) {unknown} for {cls.__name__}")
    return cls(**data)


def load_weights_strict(module: nn.Module, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Copy ``tensors`` into ``module``; every mismatch is listed in one ValueError."""
    expected, aliases = _unique_state(module)
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    mis_shaped = [
        f"{name}: file {tuple(tensors[name].shape)} vs model {tuple(t.shape)}"
        for name, t in expected.items()
        if name in tensors and tensors[name].shape != t.shape
    ]
    if missing or unexpected or mis_shaped:
        lines = [f"weights in {source!r} do not match the model built from its config:"]
        lines += [f"  missing: {name}" for name in missing]
        lines += [f"  unexpected: {name}" for name in unexpected]
        lines += [f"  shape: {line}" for line in mis_shaped]
        raise ValueError("\n".join(lines))
    check_weight_values(tensors, source)
    full = dict(tensors)
    full.update({alias: tensors[name] for alias, name in aliases.items()})
    module.load_state_dict(full, strict=True)


def build_module(make: Callable[[ConfigT], ModuleT], config_cls: type[ConfigT], config: ConfigT | None,
                 device: torch.device | str | None, dtype: torch.dtype | None) -> ModuleT:
    """A freshly initialised ``make(config)`` (default config: ``config_cls()``) on ``device``."""
    config = config_cls() if config is None else config
    if not isinstance(config, config_cls):
        raise TypeError(f"config must be a {config_cls.__name__} or None, got {type(config).__name__}")
    return make(config).to(device=device, dtype=dtype)


def load_module(path: str | os.PathLike, kind: str, config_cls: type[ConfigT],
                make: Callable[[ConfigT], ModuleT], defaults: dict[str, Any] | None = None) -> ModuleT:
    """Rebuild a module written by :func:`save_weights`: ``make`` its stored config (over
    ``defaults``, for fields older files lack), then copy its weights strictly."""
    data, tensors = read_weights(path, kind)
    module = make(config_from_dict(config_cls, {**(defaults or {}), **data}, str(path)))
    load_weights_strict(module, tensors, str(path))
    return module
