"""The procworld dataset writer: format, reproducible clips, resuming, atomic shards."""

import json

import numpy as np
import pytest
from procworld.captions import parse_caption
from procworld.dataset import DataConfig, main, make_clip, read_shard, write_dataset
from procworld.events import parse_event

from yume_gym.actions import SpeedSuffix, caption_for_action

SMALL = DataConfig(clips=5, frames=24, size=16, seed=3, shard_clips=2, event_share=0.6, hold=(3, 10))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("procworld-data")
    return out, write_dataset(out, SMALL, progress=False)


def test_shards_hold_the_documented_arrays_and_records(written):
    out, paths = written
    assert [p.name for p in paths] == ["shard-00000.safetensors", "shard-00001.safetensors", "shard-00002.safetensors"]
    assert not list(out.glob("*.tmp"))
    arrays, records = read_shard(paths[0])
    assert arrays["frames"].shape == (2, 24, 16, 16, 3) and arrays["frames"].dtype == np.uint8
    assert arrays["actions"].shape == (2, 24) and arrays["actions"].dtype == np.int16
    assert arrays["poses"].shape == (2, 24, 4) and arrays["poses"].dtype == np.float32
    assert arrays["clip_index"].tolist() == [0, 1]
    assert json.loads((out / "dataset.json").read_text())["frames"] == 24
    for clip, record in enumerate(records):
        parse_caption(record["scene"])
        assert record["event_start"] == arrays["event_start"][clip]
        if record["event"] is not None:
            assert 6 <= record["event_start"] <= 18 and parse_event(record["event"]).text == record["event_canonical"]
        segments = record["segments"]
        assert segments[0]["start"] == 0 and segments[-1]["stop"] == 24
        for seg in segments:
            assert seg["stop"] - seg["start"] <= 10 and (seg["stop"] - seg["start"] >= 3 or seg["stop"] == 24)
            assert set(arrays["actions"][clip, seg["start"]:seg["stop"]].tolist()) == {seg["action_id"]}
            assert seg["caption"] == caption_for_action(seg["action_id"], SpeedSuffix(4.0, 2.0, 2.0))


def test_a_share_of_clips_has_events():
    records = [make_clip(i, DataConfig(clips=40, frames=8, size=8, event_share=0.5))["record"] for i in range(40)]
    with_event = sum(r["event"] is not None for r in records)
    assert 10 <= with_event <= 30


def test_appear_share_sets_how_many_events_spawn_an_object():
    def appear_count(appear_share):
        config = DataConfig(clips=60, frames=8, size=8, event_share=1.0, appear_share=appear_share)
        kinds = [parse_event(make_clip(i, config)["record"]["event"]).kinds for i in range(60)]
        return sum(k == ("appear",) for k in kinds), {k for (k,) in kinds}

    default_count, default_kinds = appear_count(None)
    assert default_count <= 20 and len(default_kinds) == 7  # one kind of seven
    assert appear_count(1.0) == (60, {"appear"})
    assert appear_count(0.0)[0] == 0 and len(appear_count(0.0)[1]) == 6
    with pytest.raises(ValueError, match="appear_share"):
        DataConfig(appear_share=1.5)


def test_clip_i_is_reproducible_on_its_own(written):
    _, paths = written
    arrays, _ = read_shard(paths[1])  # clips 2 and 3
    clip = make_clip(3, SMALL)
    assert np.array_equal(clip["frames"], arrays["frames"][1])
    assert np.array_equal(clip["poses"], arrays["poses"][1])
    other_sharding = DataConfig(**{**SMALL.__dict__, "shard_clips": 4})
    assert np.array_equal(make_clip(3, other_sharding)["frames"], clip["frames"])
    assert not np.array_equal(make_clip(3, DataConfig(**{**SMALL.__dict__, "seed": 4}))["frames"], clip["frames"])


def test_rerunning_skips_finished_shards_and_redoes_broken_ones(written):
    out, paths = written
    stamps = [p.stat().st_mtime_ns for p in paths]
    original = read_shard(paths[2])
    paths[2].write_bytes(b"torn")  # a damaged shard is written again
    paths[1].unlink()  # a missing one too
    write_dataset(out, SMALL, progress=False)
    assert paths[0].stat().st_mtime_ns == stamps[0]
    again = read_shard(paths[2])
    assert again[1] == original[1] and np.array_equal(again[0]["frames"], original[0]["frames"]) and paths[1].is_file()
    more = DataConfig(**{**SMALL.__dict__, "clips": 6})  # the last shard grows, the others stay
    write_dataset(out, more, progress=False)
    assert paths[0].stat().st_mtime_ns == stamps[0]
    assert read_shard(paths[2])[0]["clip_index"].tolist() == [4, 5]


def test_other_settings_in_the_same_folder_are_refused(written):
    out, _ = written
    with pytest.raises(ValueError, match="other settings.*size"):
        write_dataset(out, DataConfig(**{**SMALL.__dict__, "size": 32}), progress=False)


def test_a_folder_written_before_a_setting_existed_resumes_with_its_default(tmp_path):
    config = DataConfig(**{**SMALL.__dict__, "clips": 2})
    write_dataset(tmp_path, config, progress=False)
    older = json.loads((tmp_path / "dataset.json").read_text())
    del older["align"]
    (tmp_path / "dataset.json").write_text(json.dumps(older))
    assert len(write_dataset(tmp_path, config, progress=False)) == 1  # align 1 is what the folder was made with
    (tmp_path / "dataset.json").write_text(json.dumps(older))
    with pytest.raises(ValueError, match=r"other settings \(\['align'\]: \[1\]\)"):
        write_dataset(tmp_path, DataConfig(**{**config.__dict__, "align": 2}), progress=False)


def test_command_line(tmp_path, capsys):
    assert main(["--clips", "3", "--out", str(tmp_path), "--frames", "6", "--size", "8", "--shard-clips", "2", "--quiet"]) == 0
    assert "3 clips in 2 shards" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--clips", "3", "--out", str(tmp_path / "x"), "--speed", "fast"])
    with pytest.raises(SystemExit):
        main(["--clips", "0", "--out", str(tmp_path / "y")])
    with pytest.raises(FileNotFoundError):
        read_shard(tmp_path / "missing.safetensors")


def test_hold_option_draws_a_fresh_action_every_chunk(tmp_path):
    out = tmp_path / "fresh"
    assert main(["--clips", "2", "--out", str(out), "--frames", "17", "--size", "8", "--align", "4",
                 "--hold", "4", "4", "--quiet"]) == 0
    _, records = read_shard(out / "shard-00000.safetensors")
    for record in records:
        assert [s["stop"] - s["start"] for s in record["segments"]] == [5, 4, 4, 4]  # the start frame rides with chunk 1
    with pytest.raises(SystemExit):
        main(["--clips", "2", "--out", str(tmp_path / "bad"), "--hold", "5", "4"])


def test_a_truncated_shard_is_an_error_that_names_the_file(written, tmp_path):
    _, paths = written
    cut = tmp_path / "shard-00000.safetensors"
    data = paths[0].read_bytes()
    for size in (len(data) // 2, 6):
        cut.write_bytes(data[:size])
        with pytest.raises(ValueError, match=r"shard '.*shard-00000.safetensors' is damaged or truncated .*delete it"):
            read_shard(cut)


def test_a_shard_with_a_caption_the_encoder_cannot_take_is_refused(written, tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    _, paths = written
    with safe_open(str(paths[0]), framework="numpy") as f:
        metadata, arrays = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    records = json.loads(metadata["clips"])
    records[1]["segments"][0]["caption"] = "First-person perspective. \ud800"
    save_file(arrays, str(tmp_path / "bad.safetensors"), metadata={**metadata, "clips": json.dumps(records)})
    with pytest.raises(ValueError, match=r"bad.safetensors', clip record 1 caption: .* lone surrogate"):
        read_shard(tmp_path / "bad.safetensors")
