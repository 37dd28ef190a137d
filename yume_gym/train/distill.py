"""``yume-gym train distill``: self-forcing DMD distillation of the foundation model to 4 steps.

The student, the real score and the critic start from the foundation model's exported weights;
the student rolls out autoregressively, as at inference, and trains with the DMD loss
(:mod:`yume_gym.train.dmd`). ``--out`` receives a checkpoint, a log and ``bundle/`` (the
distilled world model). The rollouts, the losses and the files: docs/architecture.md.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from yume_gym.actions import SpeedSuffix, caption_for_action
from yume_gym.world.residual_flow import from_flow_space
from yume_gym.sampling import FlowSchedule, flow_matching_loss, sample, sample_training_sigmas
from yume_gym.options import require_inputs, option, parse_args
from yume_gym.train.checkpoint import load_checkpoint, restore
from yume_gym.train.chunks import (
    NOOP_ACTION,
    chunk_caption,
    episode_latents,
    num_chunks,
    scene_text,
)
from yume_gym.train.dmd import dmd_loss, guided_velocity, student_sample
from yume_gym.train.foundation import BUNDLE_DIR, LATENTS_FILE
from yume_gym.train.latents import LatentClips, load_latents
from yume_gym.train.loop import CHECKPOINT_FILE, LoopSettings, run_loop
from yume_gym.world.bundle import WorldModel, read_world_model, save_world_model


@dataclass
class DistillArgs:
    foundation: str = option("runs/foundation", "foundation run directory (its bundle/ and latents)")
    out: str = option("runs/distill", "run directory (re-running resumes from its checkpoint)")
    steps: int = option(2000, "generator steps")
    minutes: float | None = option(None, "stop after this many minutes (a later run resumes)")
    batch: int = option(8, "episodes per step")
    lr: float = option(5e-5, "generator learning rate")
    critic_lr: float = option(2e-5, "critic learning rate")
    critic_updates: int = option(2, "critic steps per generator step")
    max_chunks: int = option(4, "longest self-rollout (chunks after the opening one)")
    text_start_share: float = option(0.15, "share of steps that distill the text-start opening chunk")
    prompt_share: float = option(0.5, "share of episodes whose captions include the scene text")
    guidance: float = option(3.0, "classifier-free guidance scale of the real score")
    truth_weight: float = option(0.0, "weight of the regression of the student's chunk onto the clip's true chunk "
                                 "(image starts; 0: the DMD loss alone)")
    student_steps: int = option(4, "sampling steps of the student")
    student_shift: float = option(1.0, "schedule shift of the student (1: t = 1000, 750, 500, 250)")
    seed: int = option(0, "random seed")
    threads: int = option(2, "CPU threads")
    device: str = option("cpu", "torch device")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        if self.max_chunks < 1 or self.critic_updates < 1 or self.batch < 1:
            raise ValueError("max_chunks, critic_updates and batch must be >= 1")
        if self.truth_weight < 0:
            raise ValueError(f"truth_weight={self.truth_weight} must be >= 0 (0 turns the regression off)")


@dataclass
class Rollout:
    """The student's trainable chunk ``x0`` (B, C, F, h, w), its history and text context, and the
    clip's true chunk latents (B, C, F, h, w) under the same actions (None for a text start)."""

    x0: Tensor
    history: Tensor | None
    context: Tensor
    chunks: int
    truth: Tensor | None


def rollout(student: nn.Module, model: WorldModel, clips: LatentClips, rng: np.random.Generator,
            args: DistillArgs, schedule: FlowSchedule, device: torch.device) -> Rollout:
    """Roll the student out through its own history; the last chunk keeps its gradients."""
    f = model.generation.chunk_latents
    rows = rng.integers(len(clips), size=args.batch)
    with_prompt = [bool(rng.random() < args.prompt_share) for _ in rows]
    if rng.random() < args.text_start_share:
        speed = SpeedSuffix(*clips.settings["speed"])
        captions = [(caption_for_action(NOOP_ACTION, speed), scene_text(clips.records[n], 0, True)) for n in rows]
        plan, history, truth = [captions], None, None
    else:
        k_last = int(rng.integers(1, min(args.max_chunks, num_chunks(clips, f)) + 1))
        plan = [[chunk_caption(clips, n, k, f, w) for n, w in zip(rows, with_prompt)] for k in range(1, k_last + 1)]
        episodes = torch.stack([episode_latents(clips.latents[n], f) for n in rows])  # (B, F + T - 1, C, h, w)
        history = episodes[:, :f].permute(0, 2, 1, 3, 4).float().to(device)  # (B, C, F, h, w)
        truth = episodes[:, k_last * f : (k_last + 1) * f].permute(0, 2, 1, 3, 4)  # (B, C, F, h, w)
        truth = truth.float().to(device)
    shape = (args.batch, *model.chunk_latent_shape)
    for i, captions in enumerate(plan):
        context = model.text_encoder.encode_batch(captions).to(device)  # (B, text_len, D)
        noise = torch.randn(shape, device=device)

        if i < len(plan) - 1:
            with torch.no_grad():
                conditioning = student.condition(noise, context, history)  # shared by the sampler steps
                chunk = sample(lambda x, t: student(x, t, conditioning=conditioning), noise, schedule)
            history = torch.cat([history, from_flow_space(chunk, history, model.generation.residual_scale)], dim=2)
            continue
        exit_step = int(rng.integers(schedule.steps))
        x0 = student_sample(lambda x, t: student(x, t, context, history), noise, schedule, exit_step)
        return Rollout(x0, history, context, len(plan), truth)
    raise AssertionError("unreachable: the plan has at least one chunk")


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym train distill``; returns the exit status."""
    args = parse_args(DistillArgs, argv, "yume-gym train distill", __doc__.splitlines()[0])
    require_inputs([(Path(args.foundation) / BUNDLE_DIR, "foundation run (--foundation)",
                        "train one with `yume-gym train foundation --out runs/foundation` or pass --foundation DIR")])  # fmt: skip
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out, device, foundation = Path(args.out), torch.device(args.device), Path(args.foundation)
    model = read_world_model(foundation / BUNDLE_DIR, device=device)
    clips = load_latents(foundation / LATENTS_FILE)
    real = model.generator  # frozen by WorldModel
    student, critic = copy.deepcopy(real).requires_grad_(True), copy.deepcopy(real).requires_grad_(True)
    student.train()
    critic.train()
    opt_student = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.0, 0.99))
    opt_critic = torch.optim.AdamW(critic.parameters(), lr=args.critic_lr, weight_decay=0.0, betas=(0.0, 0.99))
    start = restore(load_checkpoint(out / CHECKPOINT_FILE), student=student, critic=critic,
                    opt_student=opt_student, opt_critic=opt_critic)
    rng = np.random.default_rng([args.seed, start])
    schedule = FlowSchedule(args.student_steps, args.student_shift)

    def train_step(step: int) -> dict[str, float]:
        r = rollout(student, model, clips, rng, args, schedule, device)
        sigma = 0.02 + 0.96 * torch.rand(args.batch, device=device)
        loss, info = dmd_loss(
            r.x0,
            lambda x, t: guided_velocity(real, x, t, r.context, r.history, args.guidance),
            lambda x, t: critic(x, t, r.context, r.history),
            sigma, torch.randn_like(r.x0),
        )
        truth_loss = torch.zeros(())
        if args.truth_weight > 0 and r.truth is not None:
            chunk = from_flow_space(r.x0, r.history, model.generation.residual_scale)  # (B, C, F, h, w) latents
            truth_loss = torch.mean((chunk.float() - r.truth) ** 2)
            loss = loss + args.truth_weight * truth_loss
        opt_student.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt_student.step()
        sample_x0 = r.x0.detach()
        for _ in range(args.critic_updates):
            critic_loss = flow_matching_loss(lambda x, t: critic(x, t, r.context, r.history), sample_x0,
                                             sample_training_sigmas(args.batch, shift=3.0).to(device),
                                             torch.randn_like(sample_x0))
            opt_critic.zero_grad(set_to_none=True)
            critic_loss.backward()
            nn.utils.clip_grad_norm_(critic.parameters(), 1.0)
            opt_critic.step()
        return {"loss": loss.item(), **info, "truth_loss": truth_loss.item(), "critic_loss": critic_loss.item(),
                "chunks": float(r.chunks)}

    def state() -> dict:
        return {"student": student.state_dict(), "critic": critic.state_dict(), "opt_student": opt_student.state_dict(),
                "opt_critic": opt_critic.state_dict(), "args": asdict(args)}

    settings = LoopSettings(out, args.steps, args.minutes, progress=args.progress)
    fields = ["loss", "dmd_grad", "truth_loss", "critic_loss", "chunks"]
    step = run_loop("distill", settings, start, train_step, state, fields)
    generation = dataclasses.replace(model.generation, steps=args.student_steps, shift=args.student_shift)
    distilled = WorldModel(student, model.codec, model.text_encoder, generation, is_trained=True, source=str(out))
    save_world_model(distilled, out / BUNDLE_DIR, note=f"self-forcing DMD student at step {step}, "
                     f"{args.student_steps} steps, from {foundation / BUNDLE_DIR}")
    print(f"distilled at step {step} -> {out / BUNDLE_DIR}")
    return 0
