"""``yume-gym doctor DIR``: check a released Yume-5B checkpoint directory before using it.

For each component (generator, VAE, text encoder, tokenizer) the doctor finds its files in
either layout (Wan-native files, or diffusers-format ``vae/``, ``text_encoder/``,
``tokenizer/`` folders), reads every tensor's name, shape and dtype from the file headers
(never the tensor data: safetensors headers, memory-mapped ``.pth`` pickles, see
:mod:`yume_gym.model.safe_load`), compares them with the model built from the configuration
on the meta device, and prints every missing, unexpected, mis-shaped or non-floating tensor,
every missing or unreadable file, and the GPU memory each component needs (bfloat16 weights
plus peak activations at the chosen resolution, see :mod:`yume_gym.model.memory`). It also
checks that the components fit together (latent channels, text width). The exit status is 1
if anything is wrong, 0 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yume_gym.model import PRESETS, build_generator, memory
from yume_gym.model.generator import DIT_STEM, RELEASED_CONFIG, released_config
from yume_gym.model.safe_load import TensorInfo, file_header, manifest_problems, safetensors_files
from yume_gym.model.umt5 import expected_manifest as text_manifest
from yume_gym.model.umt5 import find_text_encoder, load_tokenizer
from yume_gym.model.umt5_keys import fold_tied
from yume_gym.model.wan_vae import expected_manifest as vae_manifest
from yume_gym.model.wan_vae import find_vae, meta_vae
from yume_gym.options import REQUIRED, option, parse_args

MAX_LINES = 20  # problems listed per component before "... and N more"


@dataclasses.dataclass
class ComponentReport:
    """What the doctor found for one component; ``problems`` empty means it is usable."""

    name: str
    source: str = ""
    problems: list[str] = dataclasses.field(default_factory=list)
    weights: int | None = None  # bytes in bfloat16
    activations: int | None = None  # peak bytes at the resolution checked
    dtypes: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)  # worth knowing, not wrong
    config: Any = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_headers(files: list[Path], report: ComponentReport) -> dict[str, TensorInfo] | None:
    """All tensor infos of ``files`` (None if one is unreadable; the problem is recorded)."""
    found: dict[str, TensorInfo] = {}
    for file in files:
        try:
            header = file_header(file)
        except (ValueError, OSError) as err:  # UnsafeCheckpointError is a ValueError
            report.problems.append(f"unreadable: {err}")
            return None
        for name in set(header) & set(found):
            report.problems.append(f"duplicate tensor {name} in {file.name}")
        found.update(header)
    report.dtypes = sorted({str(info.dtype).removeprefix("torch.") for info in found.values()})
    return found


def _compare(found: dict[str, TensorInfo] | None, expected: dict[str, tuple[int, ...]],
             report: ComponentReport) -> None:
    report.weights = sum(math.prod(shape) for shape in expected.values()) * 2  # bfloat16
    if found is not None:
        report.problems += manifest_problems(found, expected)


def check_generator(directory: Path, video_hw: tuple[int, int]) -> ComponentReport:
    """The DiT: ``config.json`` and its safetensors weights (single file or shards)."""
    report = ComponentReport("generator", source=f"{RELEASED_CONFIG}, {DIT_STEM}.safetensors")
    config_file = directory / RELEASED_CONFIG
    if not config_file.is_file():
        report.problems.append(f"missing: {config_file.name} (the generator's config)")
        return report
    try:
        report.config = released_config(json.loads(config_file.read_text()), str(config_file))
    except (ValueError, OSError) as err:  # JSONDecodeError is a ValueError
        report.problems.append(f"bad {config_file.name}: {err}")
        return report
    preset = PRESETS["yume-5b"]
    changed = [f"{f.name}={getattr(report.config, f.name)!r}" for f in dataclasses.fields(preset)
               if getattr(report.config, f.name) != getattr(preset, f.name)]
    if changed:
        report.notes.append(f"config differs from the yume-5b preset: {', '.join(changed)}")
    model = build_generator(report.config, device="meta")
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    try:
        found = _read_headers(safetensors_files(directory, DIT_STEM), report)
    except (FileNotFoundError, ValueError) as err:
        report.problems.append(f"missing: {err}")
        found = None
    _compare(found, expected, report)
    _activations(report, lambda: memory.dit_step(report.config, video_hw,
                                                  history_latents=memory.MAX_HISTORY))
    return report


def check_vae(directory: Path, video_hw: tuple[int, int],
              config: dict[str, Any] | None = None) -> ComponentReport:
    """The VAE: ``Wan2.2_VAE.pth`` or a diffusers ``vae/`` folder."""
    report = ComponentReport("VAE")
    try:
        source = find_vae(directory)
    except FileNotFoundError as err:
        report.problems.append(f"missing: {err}")
        return report
    except ValueError as err:
        report.problems.append(f"bad: {err}")
        return report
    if config is not None and source.kind == "native":
        source = source._replace(config=config)
    report.source = f"{_names(source.files, directory)} ({source.kind})"
    try:
        expected = vae_manifest(source)
    except (TypeError, ValueError) as err:
        report.problems.append(f"bad config: {err}")
        return report
    report.config = source.config
    _compare(_read_headers(source.files, report), expected, report)
    _activations(report, lambda: memory.vae_decode(source.config, video_hw))
    return report


def check_text_encoder(directory: Path, config: Any = None) -> list[ComponentReport]:
    """The umt5 encoder (Wan-native .pth or ``text_encoder/``) and its tokenizer folder."""
    report, tokenizer = ComponentReport("text encoder"), ComponentReport("tokenizer")
    try:
        source = find_text_encoder(directory)
    except (FileNotFoundError, ValueError) as err:
        kind = "missing" if isinstance(err, FileNotFoundError) else "bad"
        report.problems.append(f"{kind}: {err}")
        tokenizer.problems.append("not checked: no usable text encoder found")
        return [report, tokenizer]
    if config is not None and source.kind == "native":
        source = source._replace(config=config)
    report.source = f"{_names(source.files, directory)} ({source.kind})"
    report.config = source.config
    found = _read_headers(source.files, report)
    if found is not None and source.kind == "hf":
        found = fold_tied(found)
    _compare(found, text_manifest(source), report)
    _activations(report, lambda: memory.text_encoder(source.config))
    _check_tokenizer(source.tokenizer_dir, source.config.vocab_size, directory, tokenizer)
    return [report, tokenizer]


def _check_tokenizer(folder: Path | None, vocab_size: int, root: Path,
                     report: ComponentReport) -> None:
    if folder is None:
        report.problems.append("missing: no tokenizer folder (google/umt5-xxl/ or tokenizer/)")
        return
    report.source = str(folder.relative_to(root))
    try:
        tokenizer = load_tokenizer(folder)
    except (ValueError, FileNotFoundError) as err:
        report.problems.append(f"unreadable: {err}")
        return
    if len(tokenizer) > vocab_size:  # only unused special tokens may lie beyond the table
        report.notes.append(f"the tokenizer has {len(tokenizer)} tokens, more than the "
                            f"encoder's vocab_size {vocab_size}")


def _names(files: list[Path], root: Path) -> str:
    return ", ".join(str(f.relative_to(root)) if f.is_relative_to(root) else str(f) for f in files)


def _activations(report: ComponentReport, estimate: Callable[[], memory.ComponentMemory]) -> None:
    try:
        report.activations = estimate().activations
    except (ValueError, RuntimeError) as err:
        report.problems.append(f"cannot run the model at this size: {err}")


def cross_check(reports: dict[str, ComponentReport]) -> list[str]:
    """Problems in how the components fit together (latent channels, text width)."""
    dit, vae, text = (reports[k].config for k in ("generator", "VAE", "text encoder"))
    problems = []
    if dit is not None and vae is not None:
        z = meta_vae(vae).config.z_dim
        if not dit.in_dim == dit.out_dim == z:
            problems.append(f"the generator's in_dim/out_dim ({dit.in_dim}/{dit.out_dim}) differ "
                            f"from the VAE's latent channels ({z})")
    if dit is not None and text is not None and dit.text_dim != text.d_model:
        problems.append(f"the generator's text_dim ({dit.text_dim}) differs from the text "
                        f"encoder's width ({text.d_model})")
    return problems


def check_directory(directory: str | os.PathLike, video_hw: tuple[int, int] = (704, 1280),
                    vae_config: dict[str, Any] | None = None,
                    text_config: Any = None) -> tuple[list[ComponentReport], list[str]]:
    """Reports for every component and the cross-component problems of ``directory``.

    ``vae_config`` / ``text_config`` replace the Wan2.2 VAE and umt5-xxl configurations for
    Wan-native files (those files carry none); diffusers-format folders carry their own.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no checkpoint directory at {str(directory)!r}")
    reports = [check_generator(directory, video_hw), check_vae(directory, video_hw, vae_config),
               *check_text_encoder(directory, text_config)]
    return reports, cross_check({r.name: r for r in reports})


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / memory.GIB:.2f} GiB"


def format_report(reports: list[ComponentReport], fit: list[str], video_hw: tuple[int, int]) -> str:
    """The doctor's printout."""
    lines = []
    for r in reports:
        status = "ok" if r.ok else "PROBLEM"
        detail = f"{r.source}" + (f" [{', '.join(r.dtypes)}]" if r.dtypes else "")
        lines.append(f"{r.name:<13} {status:<8} {detail}")
        if r.weights is not None:
            lines.append(f"{'':<22} memory: weights {_gib(r.weights)} (bf16) + activations "
                         f"{_gib(r.activations)} at {video_hw[0]}x{video_hw[1]}")
        lines += [f"{'':<22} note: {n}" for n in r.notes]
        lines += [f"{'':<22} - {p}" for p in r.problems[:MAX_LINES]]
        if len(r.problems) > MAX_LINES:
            lines.append(f"{'':<22} ... and {len(r.problems) - MAX_LINES} more")
    lines += [f"fit           PROBLEM  {p}" for p in fit]
    by_name = {r.name: r for r in reports}
    weights = [by_name[n].weights for n in ("generator", "VAE", "text encoder")]
    peaks = [by_name[n].activations for n in ("generator", "VAE", "text encoder")]
    if None in weights or None in peaks:
        lines.append("GPU memory: not estimated (a component is missing or unreadable)")
    else:
        peak = max(peaks)
        lines.append(f"GPU memory, all resident: {_gib(sum(weights) + peak)}; text encoder "
                     f"offloaded after encoding: {_gib(sum(weights[:2]) + peak)} "
                     f"(+ about 1.5 GiB for CUDA; see docs/memory.md)")
    return "\n".join(lines)


def _resolution(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"resolution {text!r} must look like 704x1280") from err
    if h < 16 or w < 16 or h % 16 or w % 16:
        raise argparse.ArgumentTypeError(
            f"resolution {text!r}: height and width must be multiples of 16")
    return h, w


@dataclasses.dataclass
class DoctorArgs:
    directory: Path = option(REQUIRED, "the Yume-5B checkpoint directory", positional=True)
    resolution: tuple[int, int] = option((704, 1280), "video size for the memory estimate, HxW (default: 704x1280)",
                                         type=_resolution)


def main(argv: list[str] | None = None) -> int:
    """Check a checkpoint directory; exit status 1 on any problem."""
    args = parse_args(DoctorArgs, argv, "yume-gym doctor", __doc__.split("\n\n")[0])
    try:
        reports, fit = check_directory(args.directory, args.resolution)
    except FileNotFoundError as err:
        print(f"yume-gym doctor: {err}")
        return 1
    print(format_report(reports, fit, args.resolution))
    return 0 if all(r.ok for r in reports) and not fit else 1
