"""``yume-gym eval``: measure a world model against procworld on held-out scenes; write docs/results.md.

Held-out episodes are rolled out with the same actions in the world model and in procworld and
compared on action following, fidelity, event following and speed, for the shipped model and
its variants. What each measure is and its baselines: docs/architecture.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from yume_gym.actions import SpeedSuffix
from yume_gym.atomic_file import write_text_atomic
from yume_gym.evaluation.event_effects import EventResult, event_following
from yume_gym.evaluation.forced_following import ForcedFollowing, forced_following
from yume_gym.evaluation.ground_truth import Episode, ground_truth_episode
from yume_gym.model.inverse_dynamics import (
    InverseDynamics,
    follow_accuracy,
    load_inverse_dynamics,
)
from yume_gym.evaluation.metrics import psnr, ssim
from yume_gym.evaluation.rollouts import (
    channel_branch_off,
    chunk_latency,
    generate,
)
from yume_gym.options import require_inputs, option, parse_args
from yume_gym.model.codec import round_trip
from yume_gym.world.bundle import WorldModel, load_world_model, with_generation

HELD_OUT_SEED = 7_000_001  # no dataset is written with this seed


@dataclass
class EvalArgs:
    model: str | None = option(None, "world-model directory (default: the embedded model)")
    teacher: str | None = option(None, "foundation world-model directory, for the teacher rows")
    idm: str = option("runs/idm/idm.safetensors", "inverse-dynamics classifier")
    episodes: int = option(16, "held-out episodes")
    chunks: int = option(16, "chunks per episode")
    event_trials: int = option(10, "scenes per event kind")
    latency_chunks: int = option(32, "chunks of the latency run")
    teacher_steps: int = option(50, "sampling steps of the many-step teacher row")
    teacher_shift: float = option(3.0, "schedule shift of the many-step teacher row")
    teacher_guidance: float = option(3.0, "classifier-free guidance of the teacher rows (the distillation's)")
    window: int = option(8, "history latents of the short-window ablation")
    seed: int = option(HELD_OUT_SEED, "seed of the held-out scenes")
    out: str = option("runs/eval/results.md", "report file (plots and the sample video go beside it)")
    threads: int = option(2, "CPU threads")


@dataclass
class Scores:
    """One variant's per-chunk means over episodes (chunks,) and its action-following accuracy."""

    name: str
    psnr: list[float]
    ssim: list[float]
    movement: float
    rotation: float
    action: float


def windows(frames: np.ndarray, chunk_frames: int) -> np.ndarray:
    """(N, 1 + K*F, H, W, 3) -> (N*K, 1 + F, H, W, 3): each chunk with the frame before it."""
    k = (frames.shape[1] - 1) // chunk_frames
    return np.concatenate([frames[:, i * chunk_frames : (i + 1) * chunk_frames + 1] for i in range(k)])


def score(name: str, frames: np.ndarray, episodes: list[Episode], idm: InverseDynamics, f: int) -> Scores:
    """Fidelity per chunk and action following of generated ``frames`` against ``episodes``."""
    truth = np.stack([ep.frames for ep in episodes])  # (N, 1 + K*F, H, W, 3)
    n, k = len(episodes), len(episodes[0].actions)
    flat = lambda a: a[:, 1:].reshape(-1, *a.shape[2:])  # (N*K*F, H, W, 3)
    p = psnr(flat(frames), flat(truth)).reshape(n, k, f).mean(axis=(0, 2))
    s = ssim(flat(frames), flat(truth)).reshape(n, k, f).mean(axis=(0, 2))
    labels = np.concatenate([[ep.actions[i] for ep in episodes] for i in range(k)])
    return Scores(name, p.tolist(), s.tolist(), *follow_accuracy(idm.predict(windows(frames, f)), labels))


def copy_start_frame(episodes: list[Episode]) -> np.ndarray:
    """The baseline: every frame is the episode's start frame."""
    return np.stack([np.repeat(ep.frames[:1], len(ep.frames), axis=0) for ep in episodes])


def through_codec(model: WorldModel, episodes: list[Episode]) -> np.ndarray:
    """The true frames (N, 1 + K*F, H, W, 3) encoded and decoded by the model's codec, each
    episode as one clip: the best any generator decoding through this codec can show."""
    return np.stack([round_trip(model.codec, ep.frames, model.device, batch=len(ep.frames)) for ep in episodes])


def variants(model: WorldModel, teacher: WorldModel | None, args: EvalArgs) -> list[tuple[str, WorldModel]]:
    """(name, model) of every compared variant; the channel-branch ablation is run separately."""
    g = model.generation
    rows = [(f"evaluated model (--model), {g.steps} steps", model)]
    if teacher is not None:
        cfg = args.teacher_guidance
        rows.append((f"teacher, {args.teacher_steps} steps, guidance {cfg:g}",
                     with_generation(teacher, steps=args.teacher_steps, shift=args.teacher_shift, guidance=cfg)))
        rows.append((f"teacher, {g.steps} steps, guidance {cfg:g}",
                     with_generation(teacher, steps=g.steps, shift=g.shift, guidance=cfg)))
    rows.append((f"short window ({args.window} latents)", with_generation(model, max_history_latents=args.window)))
    return rows


def fmt_row(cells: list) -> str:
    return "| " + " | ".join(f"{c:.2f}" if isinstance(c, float) else str(c) for c in cells) + " |"


def fidelity_table(scores: list[Scores], references: list[Scores]) -> list[str]:
    """Markdown: PSNR/SSIM over chunks 1-4 and 1-K, action following, per variant and reference."""
    head = ["variant", "PSNR 1-4 (dB)", "PSNR all", "SSIM 1-4", "SSIM all", "movement acc", "rotation acc", "action acc"]
    lines = [fmt_row(head), fmt_row(["---"] * len(head))]
    for s in [*scores, *references]:
        lines.append(fmt_row([s.name, float(np.mean(s.psnr[:4])), float(np.mean(s.psnr)), float(np.mean(s.ssim[:4])),
                              float(np.mean(s.ssim)), s.movement, s.rotation, s.action]))
    return lines


def forced_table(forced: ForcedFollowing) -> list[str]:
    """The teacher-forced rows: every chunk generated from the true frames before it."""
    return [
        fmt_row(["chunks generated from the true history", "movement", "rotation", "action"]),
        fmt_row(["---"] * 4),
        fmt_row(["under the action taken, against it", *forced.taken]),
        fmt_row(["under a random action, against it", *forced.swapped]),
        fmt_row(["under a random action, against the previous chunk's action", *forced.swapped_previous]),
        fmt_row(["ground truth, against the previous chunk's action", *forced.truth_previous]),
        "",
        ("Each chunk is generated once under the action taken and once, from the same noise, under a "
         "uniformly random action. A model that reads the action caption shows the random action; one that "
         "continues the motion of its history shows the previous chunk's action more often than the ground "
         "truth does (the walker draws a fresh action every chunk). PSNR of the taken-action chunks: "
         f"{forced.psnr:.2f} dB against {forced.copy_psnr:.2f} dB for repeating the last true frame."),
    ]


def event_table(results: list[EventResult]) -> list[str]:
    head = ["event", "measure", "trials", "generated: right direction", "generated change", "ground-truth change"]
    lines = [fmt_row(head), fmt_row(["---"] * len(head))]
    for r in results:
        lines.append(fmt_row([f'"{r.text}"', r.measure, r.trials, r.generated_right, r.generated_change,
                              r.truth_change]))
    return lines


def plot(scores: list[Scores], baseline: Scores, latency: np.ndarray, realtime: float, path: Path) -> None:
    """PSNR per chunk of every variant and the baseline, and the seconds per chunk."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for s in [*scores, baseline]:
        ax1.plot(range(1, len(s.psnr) + 1), s.psnr, marker="o", ms=3, label=s.name,
                 linestyle="--" if s is baseline else "-")
    ax1.set(xlabel="chunk", ylabel="PSNR vs ground truth (dB)", title="Fidelity over an open-loop rollout")
    ax1.legend(fontsize=7)
    ax2.plot(range(1, len(latency) + 1), latency * 1000, marker="o", ms=3, label="one world")
    ax2.axhline(realtime * 1000, color="grey", linestyle="--", label="real time")
    ax2.set(xlabel="chunk", ylabel="ms per chunk", title="Generation time per chunk (CPU)", ylim=(0, None))
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sample_video(truth: np.ndarray, generated: np.ndarray, fps: int, path: Path) -> None:
    """Ground truth beside the generated rollout for a few episodes, as an animated GIF."""
    from PIL import Image

    rows = [np.concatenate([t, np.zeros_like(t[:, :, :2]), g], axis=2) for t, g in zip(truth, generated)]
    frames = np.concatenate(rows, axis=1)  # (T, n*H, 2W + 2, 3)
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym eval``; returns the exit status."""
    args = parse_args(EvalArgs, argv, "yume-gym eval", __doc__.splitlines()[0])
    inputs = [(path, f"world-model bundle ({flag})", f"pass {flag} DIR of a saved bundle")
              for path, flag in ((args.model, "--model"), (args.teacher, "--teacher")) if path is not None]
    inputs += [(args.idm, "action classifier (--idm)",
                "train one with `yume-gym data procworld --clips 1500 --frames 65 --align 4 --out data/procworld` then "
                "`yume-gym train idm --data data/procworld --out runs/idm`, or pass --idm FILE")]
    require_inputs(inputs)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    media = out.with_suffix("")
    if out.suffix.lower() != ".md" or out.is_dir():
        raise ValueError(f"--out {args.out!r} must be a markdown file name ending in .md, e.g. docs/results.md")
    model = load_world_model(args.model)
    teacher = None if args.teacher is None else load_world_model(args.teacher)
    idm = load_inverse_dynamics(args.idm)
    f, size, speed = model.chunk_frames, model.frame_size[0], model.speed or SpeedSuffix()
    episodes = [ground_truth_episode(args.seed, i, args.chunks, f, size, speed) for i in range(args.episodes)]
    truth = np.stack([ep.frames for ep in episodes])
    scores, shipped = [], None
    for name, variant in variants(model, teacher, args):
        frames = generate(variant, episodes, args.seed)
        shipped = frames if shipped is None else shipped
        scores.append(score(name, frames, episodes, idm, f))
        print(fmt_row([name, float(np.mean(scores[-1].psnr[:4])), scores[-1].action]), flush=True)
    if model.generator.config.channel_branch:
        with channel_branch_off(model) as spatial_only:
            scores.append(score("TSCM spatial tiers only (channel branch off)",
                                generate(spatial_only, episodes, args.seed), episodes, idm, f))
    baseline = score("copy the start frame (baseline)", copy_start_frame(episodes), episodes, idm, f)
    ceiling = score("ground truth (classifier ceiling)", truth, episodes, idm, f)
    codec_ceiling = score("ground truth through the codec (its ceiling)", through_codec(model, episodes),
                          episodes, idm, f)
    forced = forced_following(model, episodes, idm, args.seed)
    events = event_following(model, args.seed + 1, args.event_trials)
    long_episode = ground_truth_episode(args.seed + 2, 0, args.latency_chunks, f, size, speed)
    chunk_latency(model, long_episode, args.seed)  # warm-up run
    latency = chunk_latency(model, long_episode, args.seed)
    realtime = f / model.fps
    media.mkdir(parents=True, exist_ok=True)  # only now: a run that fails earlier leaves no folder
    plot(scores, baseline, latency, realtime, media / "fidelity_and_speed.png")
    sample_video(truth[:3], shipped[:3], model.fps, media / "sample.gif")
    write_report(out, args, model, scores, [baseline, codec_ceiling], ceiling, forced, events, latency, realtime)
    write_text_atomic(media / "results.json", json.dumps({
        "args": asdict(args), "scores": [asdict(s) for s in [*scores, baseline, codec_ceiling, ceiling]],
        "forced_following": asdict(forced), "events": [asdict(e) for e in events], "latency_s": latency.tolist()}, indent=1))
    print(f"wrote {out} and {media}/")
    return 0


def write_report(out: Path, args: EvalArgs, model: WorldModel, scores: list[Scores], references: list[Scores],
                 ceiling: Scores, forced: ForcedFollowing, events: list[EventResult], latency: np.ndarray,
                 realtime: float) -> None:
    """docs/results.md: settings, the tables, the plot and the sample video."""
    media = out.with_suffix("").name
    k = len(latency)
    picks = [i for i in (1, 8, 16, 32) if i <= k]
    threads = torch.get_num_threads()
    lines = [
        "# Results: the embedded world model against procworld",
        "",
        f"Written by `yume-gym eval` ({model.describe()}). Held-out scenes: seed {args.seed}, "
        f"{args.episodes} episodes of {args.chunks} chunks ({model.chunk_frames} frames each), a new "
        "walker action every chunk; every world starts from the episode's first frame and its scene caption.",
        "",
        "## Fidelity and action following",
        "",
        *fidelity_table(scores, references),
        fmt_row([ceiling.name, "", "", "", "", ceiling.movement, ceiling.rotation, ceiling.action]),
        "",
        "PSNR/SSIM: mean over the chunk's frames and the episodes. Accuracy: the inverse-dynamics "
        "classifier's prediction on each generated chunk (with the frame before it) against the "
        "action taken; chance is about 0.11 per family (9 classes) and 0.01 for the whole action.",
        "",
        f"![fidelity and speed]({media}/fidelity_and_speed.png)",
        "",
        "## Action following from the true history",
        "",
        *forced_table(forced),
        "",
        "## Event following",
        "",
        f"Up to {args.event_trials} scenes per event, chosen where the event visibly changes the ground truth; "
        "the event starts at chunk 2 of 8 and the measure is taken over chunks 6-8, against the same rollout "
        "(same seed and actions) without the event. Changes are means over trials (measure units).",
        "",
        *event_table(events),
        "",
        "## Speed",
        "",
        fmt_row(["chunk", *picks, "median"]),
        fmt_row(["---"] * (len(picks) + 2)),
        fmt_row(["ms per chunk", *[float(latency[i - 1] * 1000) for i in picks], float(np.median(latency) * 1000)]),
        "",
        f"One world, {threads} CPU thread{'s' if threads != 1 else ''}; each time is one `WorldBatch.advance` "
        "(text, sampling and decoding of the chunk, not the env's own work: the whole `env.step` is in "
        f"`docs/benchmarks/step.md`). Real time at {model.fps} fps is "
        f"{realtime * 1000:.0f} ms per chunk: median speed {realtime / float(np.median(latency)):.2f}x real time.",
        "",
        "## Sample",
        "",
        f"![ground truth (left) and generated (right)]({media}/sample.gif)",
        "",
        "Left: procworld; right: the model, from the same first frame with the same actions.",
        "",
    ]
    write_text_atomic(out, "\n".join(lines))
