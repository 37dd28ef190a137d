"""`yume-gym bench yume5b` runs its GPU code path at the tiny preset on a CPU and writes its table."""

from __future__ import annotations

import pytest
import torch

from yume_gym.commands.bench import yume5b
from yume_gym.commands.cli import main as cli

TINY = ["--preset", "tiny", "--device", "cpu", "--resolutions", "32x32", "--compile", "off",
        "--repeats", "1", "--warmup", "0", "--history", "5", "--threads", "1"]


def test_tiny_cpu_run_writes_the_table(tmp_path):
    pytest.importorskip("torchao", reason="the int8 rows need torchao (the quant extra)")
    out = tmp_path / "yume5b.md"
    assert cli(["bench", "yume5b", *TINY, "--quantize", "off,int8", "--out", str(out)]) == 0
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| 32x32 |")]
    assert [row.split(" | ")[1:3] for row in rows] == [["off", "off"], ["off", "int8"]]
    assert all("| 5 + 8 |" in row for row in rows)  # 5 history latents at full detail, 8 chunk latents of 2x2 tokens
    assert "fps, sampling only" in text and "fps, with decode" in text and "29 video frames" in text


@pytest.mark.parametrize("flags, message", [
    (["--quantize", "int8,fp8"], "must hold off and at most one of"),
    (["--compile", "fast"], "must hold off, default or reduce-overhead"),
    (["--resolutions", "720p"], "resolution '720p' must be HxW"),
])
def test_bad_arguments_name_the_choices(flags, message, capsys):
    with pytest.raises(SystemExit):
        yume5b.parse_args([*TINY, *flags])
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where there is no GPU")
def test_the_5b_preset_without_a_gpu_says_what_to_run(capsys):
    with pytest.raises(SystemExit):
        yume5b.parse_args(["--preset", "yume-5b"])
    assert "no CUDA GPU here; run --preset tiny --device cpu" in capsys.readouterr().err
