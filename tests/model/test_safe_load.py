"""Safe checkpoint reading: no code runs, headers without data, clear errors on bad files."""

import json
import os

import pytest
import torch
from safetensors.torch import save_file

from yume_gym.model.safe_load import (
    TensorInfo,
    UnsafeCheckpointError,
    check_manifest,
    file_header,
    load_pth,
    load_safetensors,
    manifest_problems,
    pth_header,
    safetensors_files,
    safetensors_header,
    save_pth,
)


class _RunsCode:
    """Pickles as a call to os.mkdir: loading the pickle unrestricted would create a folder."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def state():
    torch.manual_seed(0)
    return {"a.weight": torch.randn(3, 4), "b.bias": torch.randn(5).to(torch.bfloat16)}


def test_pth_round_trip_and_header(tmp_path, state):
    path = save_pth(state, tmp_path / "w.pth")
    assert [p.name for p in tmp_path.iterdir()] == ["w.pth"]  # no temporary file left behind
    loaded = load_pth(path)
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert pth_header(path) == {
        "a.weight": TensorInfo((3, 4), torch.float32),
        "b.bias": TensorInfo((5,), torch.bfloat16),
    }
    assert pth_header(path)["a.weight"].nbytes == 48


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "created_by_pickle"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(2), "payload": _RunsCode(str(marker))}, path)
    for read in (load_pth, pth_header, file_header):
        with pytest.raises(UnsafeCheckpointError, match="refusing to load .*calls 'posix.mkdir'"):
            read(path)
    assert not marker.exists()


def test_truncated_and_legacy_pth_are_rejected(tmp_path, state):
    path = save_pth(state, tmp_path / "w.pth")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ValueError, match="truncated"):
        pth_header(cut)
    legacy = tmp_path / "legacy.pth"
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="legacy format"):
        load_pth(legacy)


def test_pth_must_be_a_flat_dict_of_tensors(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "t.pth")
    with pytest.raises(ValueError, match="holds a Tensor"):
        load_pth(tmp_path / "t.pth")
    torch.save({"model": {"w": torch.zeros(3)}}, tmp_path / "nested.pth")
    with pytest.raises(ValueError, match="not a flat state dict.*'model'"):
        load_pth(tmp_path / "nested.pth")
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        load_pth(tmp_path / "absent.pth")


def test_safetensors_header_and_truncation(tmp_path, state):
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    assert safetensors_header(path) == pth_header(save_pth(state, tmp_path / "w.pth"))
    assert torch.equal(load_safetensors(path)["b.bias"], state["b.bias"])
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ValueError, match="truncated"):
        safetensors_header(cut)
    with pytest.raises(ValueError, match="unknown checkpoint suffix"):
        file_header(tmp_path / "w.ckpt")


def test_sharded_safetensors(tmp_path, state):
    save_file({"a.weight": state["a.weight"]}, str(tmp_path / "m-1.safetensors"))
    save_file({"b.bias": state["b.bias"]}, str(tmp_path / "m-2.safetensors"))
    index = {"weight_map": {"a.weight": "m-1.safetensors", "b.bias": "m-2.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    assert [f.name for f in safetensors_files(tmp_path, "model")] == ["m-1.safetensors", "m-2.safetensors"]
    (tmp_path / "m-2.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="m-2.safetensors"):
        safetensors_files(tmp_path, "model")
    (tmp_path / "model.safetensors.index.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid safetensors index"):
        safetensors_files(tmp_path, "model")
    with pytest.raises(FileNotFoundError, match="neither other.safetensors"):
        safetensors_files(tmp_path, "other")


def test_manifest_problems_name_every_mismatch():
    found = {
        "kept": TensorInfo((2, 3), torch.float32),
        "renamed_x": TensorInfo((4,), torch.float32),
        "wrong": TensorInfo((5,), torch.bfloat16),
        "ints": TensorInfo((1,), torch.int64),
    }
    expected = {"kept": (2, 3), "renamed": (4,), "wrong": (6,), "ints": (1,)}
    assert manifest_problems(found, expected) == [
        "missing: renamed [4]",
        "unexpected: renamed_x [4]",
        "dtype: ints: torch.int64 (weights must be floating point)",
        "shape: wrong: file [5] vs model [6]",
    ]
    with pytest.raises(ValueError, match=r"(?s)do not match.*missing: renamed.*shape: wrong"):
        check_manifest(found, expected, "file.pth")
    check_manifest({"kept": found["kept"]}, {"kept": (2, 3)}, "file.pth")


def test_weights_that_are_not_float_or_not_finite_are_refused_by_name(tmp_path):
    from yume_gym.model import PRESETS, build_generator, load_generator, save_generator
    from yume_gym.model.safe_load import check_weight_values

    good = {"a.weight": torch.zeros(2), "b.bias": torch.ones(3, dtype=torch.bfloat16)}
    check_weight_values(good, "w.safetensors")
    for bad, message in (
        (torch.zeros(2, dtype=torch.int32), r"dtype: a.weight: torch.int32 \(weights must be floating point\)"),
        (torch.zeros(2, dtype=torch.bool), r"dtype: a.weight: torch.bool"),
        (torch.tensor([1.0, float("nan")]), r"values: a.weight: 1 of 2 are NaN or infinite"),
        (torch.tensor([float("inf"), 0.0]), r"values: a.weight: 1 of 2 are NaN or infinite"),
    ):
        with pytest.raises(ValueError, match=rf"weights in 'w.safetensors' are unusable.*\n  {message}"):
            check_weight_values({**good, "a.weight": bad}, "w.safetensors")
    model = build_generator(PRESETS["test"])
    with torch.no_grad():
        model.head.head.weight[0, 0] = float("nan")
    save_generator(model, tmp_path / "g.safetensors")
    with pytest.raises(ValueError, match=r"values: head.head.weight: 1 of"):
        load_generator(tmp_path / "g.safetensors")
