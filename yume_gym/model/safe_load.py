"""Safe reading of checkpoint files: loading never runs code, checking never reads the data.

``.pth`` files go through torch's restricted, memory-mapped unpickler (anything else is an
:class:`UnsafeCheckpointError`); ``.safetensors`` files, sharded or not, are read lazily from
their headers. How each format is checked, and why: docs/architecture.md.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import torch
from safetensors import SafetensorError, safe_open

from yume_gym.atomic_file import atomic_path


class UnsafeCheckpointError(ValueError):
    """A checkpoint whose pickle would run code when loaded; it is refused, never executed."""


class TensorInfo(NamedTuple):
    """What a file header says about one tensor."""

    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def nbytes(self) -> int:
        """Bytes of the tensor's data."""
        return math.prod(self.shape) * self.dtype.itemsize


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}; check the path")


def load_pth(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The flat ``{name: tensor}`` state of a ``.pth`` file, memory-mapped on the CPU.

    Raises :class:`UnsafeCheckpointError` for a pickle that would run code, ValueError for a
    truncated, corrupt or legacy-format file or one that is not a flat dict of tensors.
    """
    path = Path(path)
    _require_file(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{str(path)!r} is not a complete zip-format torch checkpoint: it is truncated, "
            f"corrupt, or saved in the legacy format (re-save it with torch.save from "
            f"PyTorch >= 1.6, or download it again)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        what = f"calls {found.group(1)!r}" if found else "holds objects other than tensors"
        raise UnsafeCheckpointError(
            f"refusing to load {str(path)!r}: its pickle {what}, so loading it could run "
            f"code; a checkpoint must hold only tensors. Use the file from the model's "
            f"official release"
        ) from err
    except (RuntimeError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{str(path)!r} is not a readable torch checkpoint ({err}); download it again"
        ) from err
    return _flat_tensor_dict(state, path)


def save_pth(state: dict[str, torch.Tensor], path: str | os.PathLike) -> Path:
    """Write a flat state dict as a zip-format ``.pth`` atomically (tmp file, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def _flat_tensor_dict(state: object, path: Path) -> dict[str, torch.Tensor]:
    if not isinstance(state, dict):
        raise ValueError(
            f"{str(path)!r} holds a {type(state).__name__}, not a state dict of named tensors"
        )
    bad = [k for k, v in state.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        raise ValueError(
            f"{str(path)!r} is not a flat state dict of named tensors; entries {bad[:5]} "
            f"are not str -> Tensor"
        )
    return dict(state)


def pth_header(path: str | os.PathLike) -> dict[str, TensorInfo]:
    """Names, shapes and dtypes of a ``.pth`` state dict, without reading tensor data."""
    return {name: TensorInfo(tuple(t.shape), t.dtype) for name, t in load_pth(path).items()}


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}  # fmt: skip


def _open_error(path: Path, err: Exception) -> ValueError:
    return ValueError(
        f"{str(path)!r} is not a complete safetensors file ({err}); it may be truncated or "
        f"corrupt: download it again"
    )


def safetensors_header(path: str | os.PathLike) -> dict[str, TensorInfo]:
    """Names, shapes and dtypes from a ``.safetensors`` header; tensor data is not read."""
    path = Path(path)
    _require_file(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            infos = {}
            for name in f.keys():
                s = f.get_slice(name)
                dtype = _SAFETENSORS_DTYPES.get(s.get_dtype())
                if dtype is None:
                    raise ValueError(f"tensor {name!r} has unsupported dtype {s.get_dtype()}")
                infos[name] = TensorInfo(tuple(s.get_shape()), dtype)
    except (SafetensorError, OSError) as err:
        raise _open_error(path, err) from err
    return infos


def load_safetensors(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> dict[str, torch.Tensor]:
    """All tensors of a ``.safetensors`` file, read one by one onto ``device``."""
    path = Path(path)
    _require_file(path)
    try:
        with safe_open(str(path), framework="pt", device=str(torch.device(device))) as f:
            return {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError) as err:
        raise _open_error(path, err) from err


def safetensors_files(directory: str | os.PathLike, stem: str) -> list[Path]:
    """The file(s) of ``<stem>.safetensors`` in ``directory``: the single file or the shards
    listed by ``<stem>.safetensors.index.json``. FileNotFoundError when neither is there."""
    directory = Path(directory)
    single, index = directory / f"{stem}.safetensors", directory / f"{stem}.safetensors.index.json"
    if single.is_file():
        return [single]
    if not index.is_file():
        raise FileNotFoundError(
            f"{str(directory)!r} has neither {single.name} nor {index.name}"
        )
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{str(index)!r} is not a valid safetensors index ({err!r})") from err
    files = [directory / name for name in shards]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"shard(s) listed in {str(index)!r} are missing: {missing}")
    return files


def file_header(path: str | os.PathLike) -> dict[str, TensorInfo]:
    """Tensor metadata of a ``.pth``/``.pt`` or ``.safetensors`` file, chosen by suffix."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return safetensors_header(path)
    if path.suffix in (".pth", ".pt", ".bin"):
        return pth_header(path)
    raise ValueError(f"{str(path)!r}: unknown checkpoint suffix {path.suffix!r}; "
                     f"expected .safetensors or .pth")


def manifest_problems(
    found: dict[str, TensorInfo], expected: dict[str, tuple[int, ...]]
) -> list[str]:
    """One line per missing, unexpected, mis-shaped or non-floating tensor (empty if none)."""
    lines = [f"missing: {name} {list(expected[name])}"
             for name in sorted(set(expected) - set(found))]
    lines += [f"unexpected: {name} {list(found[name].shape)}"
              for name in sorted(set(found) - set(expected))]
    for name in sorted(set(found) & set(expected)):
        info = found[name]
        if tuple(info.shape) != tuple(expected[name]):
            lines.append(f"shape: {name}: file {list(info.shape)} vs model {list(expected[name])}")
        if not info.dtype.is_floating_point:
            lines.append(f"dtype: {name}: {info.dtype} (weights must be floating point)")
    return lines


def check_manifest(
    found: dict[str, TensorInfo], expected: dict[str, tuple[int, ...]], source: str
) -> None:
    """Raise one ValueError listing every problem of :func:`manifest_problems`, if any."""
    lines = manifest_problems(found, expected)
    if lines:
        raise ValueError(
            f"weights in {source!r} do not match the model:\n" + "\n".join(f"  {x}" for x in lines)
        )


def tensor_infos(tensors: dict[str, torch.Tensor]) -> dict[str, TensorInfo]:
    """The :class:`TensorInfo` of each tensor of a state dict."""
    return {name: TensorInfo(tuple(t.shape), t.dtype) for name, t in tensors.items()}


def tagged_config(folder: Path, tag: str, value: str) -> dict[str, Any] | None:
    """``folder``/config.json as a dict when its ``tag`` field equals ``value`` (a diffusers
    ``_class_name`` or a transformers ``model_type``); None when there is no such config."""
    file = folder / "config.json"
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(file)!r} is not valid JSON ({err})") from err
    if not isinstance(data, dict) or data.get(tag) != value:
        return None
    return data


def check_weight_values(tensors: dict[str, torch.Tensor], source: str) -> None:
    """One ValueError naming every tensor that is not floating point or holds NaN or infinity
    (such weights load without complaint and then give black or garbage frames)."""
    lines = []
    for name, tensor in tensors.items():
        if not tensor.dtype.is_floating_point:
            lines.append(f"  dtype: {name}: {tensor.dtype} (weights must be floating point)")
        elif not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            lines.append(f"  values: {name}: {bad} of {tensor.numel()} are NaN or infinite")
    if lines:
        shown = lines[:20] + ([f"  ... and {len(lines) - 20} more"] if len(lines) > 20 else [])
        raise ValueError(f"weights in {source!r} are unusable; re-export or re-download them:\n" + "\n".join(shown))
