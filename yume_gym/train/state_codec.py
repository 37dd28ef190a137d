"""Training state as JSON plus named tensors, so checkpoints need no pickle.

:func:`encode_state` turns a nested state (dicts, lists, tuples, numbers, strings, tensors, numpy
arrays, dicts with int keys such as an optimizer's) into a JSON structure and a flat dict of
tensors; :func:`decode_state` rebuilds it and accepts nothing but those plain types.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def encode_state(state: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """``state`` as (JSON-ready structure, tensors by name); raises TypeError for other objects."""
    tensors: dict[str, torch.Tensor] = {}

    def encode(value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, torch.Tensor):
            name = f"t{len(tensors)}"
            tensors[name] = value.detach().to("cpu", copy=True).contiguous()
            return {"tensor": name}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise TypeError(f"cannot store the {value.dtype} array at {where} in a checkpoint")
            return {"ndarray": value.tolist(), "dtype": value.dtype.str}
        if isinstance(value, list):
            return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"tuple": [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value):
                return {"dict": {k: encode(v, f"{where}.{k}") for k, v in value.items()}}
            return {"items": [[encode(k, where), encode(v, f"{where}[{k!r}]")] for k, v in value.items()]}
        raise TypeError(f"cannot store {type(value).__name__} at {where} in a checkpoint: "
                        "use tensors, arrays, dicts, lists, numbers and strings")

    return encode(state, "state"), tensors


def decode_state(structure: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Undo :func:`encode_state`; raises ValueError for anything it would not have written."""
    if structure is None or isinstance(structure, (bool, int, float, str)):
        return structure
    if isinstance(structure, list):
        return [decode_state(v, tensors) for v in structure]
    if not isinstance(structure, dict) or len(structure) not in (1, 2):
        raise ValueError(f"unexpected entry {str(structure)[:80]!r} in the state")
    if "tensor" in structure:
        if structure["tensor"] not in tensors:
            raise ValueError(f"the state names a tensor {structure['tensor']!r} that the file does not hold")
        return tensors[structure["tensor"]]
    if "ndarray" in structure:
        dtype = np.dtype(str(structure["dtype"]))
        if dtype.kind not in "biuf":
            raise ValueError(f"array dtype {dtype} is not allowed in a checkpoint")
        return np.asarray(structure["ndarray"], dtype=dtype)
    if "tuple" in structure:
        return tuple(decode_state(v, tensors) for v in structure["tuple"])
    if "dict" in structure:
        return {k: decode_state(v, tensors) for k, v in structure["dict"].items()}
    if "items" in structure:
        return {_hashable(decode_state(k, tensors)): decode_state(v, tensors) for k, v in structure["items"]}
    raise ValueError(f"unexpected entry {str(structure)[:80]!r} in the state")


def _hashable(key: Any) -> Any:
    if not isinstance(key, (int, float, str, bool, tuple)) and key is not None:
        raise ValueError(f"a dict key of type {type(key).__name__} is not allowed in a checkpoint")
    return key
