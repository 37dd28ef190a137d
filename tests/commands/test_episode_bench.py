"""`yume-gym bench episode` at toy size: a capped history stops growing, and its tokens with it."""

import pytest

from yume_gym.commands.bench import episode as bench
from yume_gym.model import tscm
from yume_gym.world.bundle import build_world_model, save_world_model


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return str(save_world_model(build_world_model(frame_size=32), tmp_path_factory.mktemp("world") / "tiny"))


def test_history_tokens_stop_growing_at_the_cap(bundle, tmp_path):
    out = tmp_path / "episode.md"
    argv = ["--checkpoint", bundle, "--chunks", "6", "--block", "2", "--caps", "0,8", "--threads", "1", "--out", str(out)]
    assert bench.main(argv) == 0
    table = out.read_text()
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:4] for line in table.splitlines() if "tokens" in line}
    model = bench.load_world_model(bundle)
    f, (h, w), patch = model.generation.chunk_latents, model.chunk_latent_shape[2:], model.generator.config.patch_size[1:]
    uncapped = [str(tscm.history_token_count(f * step, (h, w), patch)) for step in (2, 4, 6)]
    capped = [str(tscm.history_token_count(min(f * step, 8), (h, w), patch)) for step in (2, 4, 6)]
    assert rows[f"{model.max_history_latents}: history tokens"] == uncapped
    assert rows["8: history tokens"] == capped and capped[1] == capped[2] != uncapped[2]
    assert "chunks 1-2 | chunks 3-4 | chunks 5-6" in table and "--caps 0,8" in table


def test_bad_caps_are_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--caps", "64,lots"])
    assert "--caps '64,lots' must be comma-separated integers" in capsys.readouterr().err
