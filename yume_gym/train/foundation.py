"""``yume-gym train foundation``: the rectified-flow foundation model on encoded procworld clips.

The generator and the small T5 text encoder train together with the flow-matching loss on
(history, chunk, caption) samples (:mod:`yume_gym.train.chunks`). ``--out`` receives the
encoded clips, a checkpoint, a log and ``bundle/``, a world-model directory. The recipe, the
options and the files: docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from procworld.clips import MAKE_DATASET
from procworld.events import event_phrases
from torch import nn
from torch.optim.swa_utils import AveragedModel

from yume_gym.actions import NUM_ACTIONS, SpeedSuffix, caption_for_action
from yume_gym.model import PRESETS, YumeDiT, build_generator
from yume_gym.model.codec import MAKE_CODEC, load_codec
from yume_gym.model.config import GeneratorConfig
from yume_gym.model.text_encoder import TextEncoder, TextEncoderConfig
from yume_gym.model.word_tokenizer import learn_vocabulary
from yume_gym.world.residual_flow import measure_residual_scale, to_flow_space
from yume_gym.sampling import flow_matching_loss, sample_training_sigmas
from yume_gym.options import require_inputs, option, parse_args
from yume_gym.train.checkpoint import load_checkpoint, restore
from yume_gym.train.chunks import sample_batch
from yume_gym.train.latents import LatentClips, encode_dataset, load_latents
from yume_gym.train.loop import CHECKPOINT_FILE, LoopSettings, cosine_lr, run_loop, set_lr
from yume_gym.world.bundle import CODEC_FILE, GenerationConfig, WorldModel, read_world_model, save_world_model

LATENTS_FILE = "latents.safetensors"
BUNDLE_DIR = "bundle"


@dataclass
class FoundationArgs:
    data: str = option("data/procworld", "procworld dataset directory (written with --align equal to --chunk-latents)")
    codec: str = option("runs/codec/codec.safetensors", "trained codec file")
    out: str = option("runs/foundation", "run directory (re-running resumes from its checkpoint)")
    init: str | None = option(None, "start a new run from this world-model bundle's generator and text encoder "
                                    "(e.g. yume_gym/weights) with a fresh optimizer; --codec must be its codec")
    steps: int = option(20000, "training steps")
    minutes: float | None = option(None, "stop after this many minutes (a later run resumes)")
    batch: int = option(32, "samples per step")
    lr: float = option(5e-4, "peak learning rate")
    preset: str = option("tiny", "generator preset")
    text_len: int = option(128, "caption tokens (action + scene/event parts)")
    chunk_latents: int = option(4, "latent frames per chunk")
    text_start_share: float = option(0.15, "share of text-start batches (opening chunk, no history)")
    opening_share: float = option(0.0, "share of image-start batches that train chunk 1 (the first after the "
                                  "start image) instead of a uniform chunk")
    prompt_share: float = option(0.5, "share of image-start samples whose caption includes the scene text")
    caption_dropout: float = option(0.1, "share of samples trained without text (for guidance)")
    residual: bool = option(False, "run the flow on each chunk's change from the last history latent, in units "
                                   "of its standard deviation (measured on the data at the start)")
    train_shift: float = option(3.0, "shift of the logit-normal training noise levels")
    ema: float = option(0.999, "decay of the exported moving average of the weights")
    max_clips: int | None = option(None, "use only the first N clips")
    seed: int = option(0, "random seed")
    threads: int = option(2, "CPU threads")
    device: str = option("cpu", "torch device")
    progress: bool = option(True, "show a progress bar")

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
        if not 0.0 <= self.caption_dropout < 1.0 or not 0.0 <= self.text_start_share <= 1.0:
            raise ValueError("caption_dropout must be in [0, 1) and text_start_share in [0, 1]")
        if not 0.0 <= self.opening_share <= 1.0:
            raise ValueError(f"opening_share={self.opening_share} must be in [0, 1]")


class Trainee(nn.Module):
    """The modules trained together: generator and text encoder."""

    def __init__(self, generator: YumeDiT, text_encoder: TextEncoder) -> None:
        super().__init__()
        self.generator, self.text_encoder = generator, text_encoder


def warmed_up_ema(decay: float):
    """An ``AveragedModel`` update whose decay grows as (1 + n) / (10 + n) up to ``decay``, so the
    random initial weights fade from the average within the first few hundred steps."""

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = float(num_averaged)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        for mean, value in zip(averaged, current, strict=True):
            mean.lerp_(value, weight)

    return update


def caption_texts(clips: LatentClips) -> list[str]:
    """Every text the model may read: action captions, event phrases, scene captions, numbers."""
    speed = SpeedSuffix(*clips.settings["speed"])
    texts = [caption_for_action(a, speed) for a in range(NUM_ACTIONS)]
    texts += [p for phrases in event_phrases().values() for p in phrases]
    texts += [r["scene"] for r in clips.records] + [" ".join(str(i) for i in range(11))]
    return texts


def build_trainee(args: FoundationArgs, vocab: list[str], latent_channels: int) -> Trainee:
    """A fresh generator + word-level text encoder sized by ``args``, for the codec's latents."""
    generator_config = dataclasses.replace(PRESETS[args.preset], text_len=args.text_len,
                                           in_dim=latent_channels, out_dim=latent_channels)
    text_config = TextEncoderConfig(d_model=generator_config.text_dim, max_length=args.text_len // 2,
                                    text_len=args.text_len, vocab=vocab)
    return Trainee(build_generator(generator_config), TextEncoder(text_config))


def rebuild_trainee(saved: dict) -> Trainee:
    """The trainee of a checkpoint, built from the configs it stores."""
    generator = YumeDiT(GeneratorConfig.from_dict(saved["generator_config"]))
    return Trainee(generator, TextEncoder(TextEncoderConfig(**saved["text_config"])))


def trainee_from_bundle(args: FoundationArgs) -> Trainee:
    """The generator and text encoder of the bundle ``args.init``, checked against ``args``."""
    model = read_world_model(args.init)
    if model.generation.chunk_latents != args.chunk_latents:
        raise ValueError(f"--init {args.init} makes chunks of {model.generation.chunk_latents} latents, not "
                         f"--chunk-latents {args.chunk_latents}; pass --chunk-latents {model.generation.chunk_latents}")
    codec = load_codec(args.codec).state_dict()
    same_codec = codec.keys() == model.codec.state_dict().keys() and all(
        value.equal(codec[name]) for name, value in model.codec.state_dict().items())  # fmt: skip
    if not same_codec:
        raise ValueError(f"--init {args.init} was trained on another codec than --codec {args.codec}; "
                         f"pass the bundle's own codec file, {Path(args.init) / CODEC_FILE}")
    return Trainee(model.generator, model.text_encoder).requires_grad_(True)  # bundles load frozen


def residual_scale_for(args: FoundationArgs, saved: dict | None, clips: LatentClips) -> float | None:
    """The run's residual scale: the checkpoint's when resuming, else the ``--init`` bundle's,
    else measured on 64 image-start batches when ``--residual`` is set; None for an absolute flow."""
    if saved is not None:
        scale = saved.get("residual_scale")
        if (scale is not None) != args.residual:
            raise ValueError(f"the checkpoint in {args.out} was trained {'with' if scale else 'without'} --residual; "
                             f"{'add' if scale else 'drop'} --residual to resume it, or pass another --out")
        return scale
    if args.init:
        scale = read_world_model(args.init).generation.residual_scale
        if scale is not None and not args.residual:
            raise ValueError(f"--init {args.init} is a residual-flow model; add --residual to train it")
        if scale is not None:
            return scale
    if not args.residual:
        return None
    rng = np.random.default_rng([args.seed, 1])
    batches = (sample_batch(clips, rng, args.batch, args.chunk_latents, 0.0, 0.0) for _ in range(64))
    return measure_residual_scale((b.chunk, b.history) for b in batches)


def export_bundle(trainee: nn.Module, codec_path: str, chunk_latents: int, speed: SpeedSuffix,
                  out: Path, note: str, residual_scale: float | None = None) -> Path:
    """Save ``trainee`` (a :class:`Trainee`) with the codec as a world-model directory."""
    codec = load_codec(codec_path)
    generation = GenerationConfig(frame_height=codec.config.image_size, frame_width=codec.config.image_size,
                                  chunk_latents=chunk_latents, steps=4, shift=1.0, speed=speed,
                                  residual_scale=residual_scale)
    model = WorldModel(trainee.generator, codec, trainee.text_encoder, generation, is_trained=True, source=str(out))
    return save_world_model(model, out, note=note)


def main(argv: list[str] | None = None) -> int:
    """Run ``yume-gym train foundation``; returns the exit status."""
    args = parse_args(FoundationArgs, argv, "yume-gym train foundation", __doc__.splitlines()[0])
    encoded = (Path(args.out) / LATENTS_FILE).is_file()  # a resumed run has its latents already
    inputs = [] if encoded else [(args.data, "procworld dataset (--data)", MAKE_DATASET),
                                 (args.codec, "trained codec (--codec)", MAKE_CODEC)]
    if args.init is not None:
        inputs.append((args.init, "world-model bundle (--init)", "pass --init DIR of a trained bundle"))
    require_inputs(inputs)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out, device = Path(args.out), torch.device(args.device)
    latents_path = out / LATENTS_FILE
    if not latents_path.is_file():
        encode_dataset(args.data, load_codec(args.codec, device=device), latents_path, args.max_clips, args.progress)
    clips = load_latents(latents_path)
    saved = load_checkpoint(out / CHECKPOINT_FILE)
    if saved is not None:
        trainee = rebuild_trainee(saved)
    elif args.init:
        trainee = trainee_from_bundle(args)
    else:
        trainee = build_trainee(args, learn_vocabulary(caption_texts(clips)), clips.latents.shape[2])
    trainee.to(device).train()
    ema = AveragedModel(trainee, multi_avg_fn=warmed_up_ema(args.ema), use_buffers=True)
    optimizer = torch.optim.AdamW(trainee.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    start = restore(saved, trainee=trainee, ema=ema, optimizer=optimizer)
    residual_scale = residual_scale_for(args, saved, clips)
    if residual_scale is not None:
        print(f"residual flow: each chunk is learnt as its change from the last history latent / {residual_scale:.4f}")
    rng = np.random.default_rng([args.seed, start])

    def train_step(step: int) -> dict[str, float]:
        set_lr(optimizer, cosine_lr(step, args.steps, args.lr, warmup=300))
        batch = sample_batch(clips, rng, args.batch, args.chunk_latents, args.text_start_share, args.prompt_share,
                             args.opening_share)
        history = None if batch.history is None else batch.history.to(device)
        x0 = to_flow_space(batch.chunk.to(device), history, residual_scale)
        context = trainee.text_encoder(batch.captions)  # (B, text_len, D)
        keep = torch.rand(len(x0), device=device) >= args.caption_dropout
        context = context * keep[:, None, None]
        sigma = sample_training_sigmas(len(x0), shift=args.train_shift).to(device)
        noise = torch.randn_like(x0)
        loss = flow_matching_loss(lambda x, t: trainee.generator(x, t, context, history), x0, sigma, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(trainee.parameters(), 1.0)
        optimizer.step()
        ema.update_parameters(trainee)
        history_len = 0 if history is None else history.shape[2]
        return {"loss": loss.item(), "grad_norm": float(grad_norm), "history": float(history_len)}

    def state() -> dict:
        return {"trainee": trainee.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                "generator_config": trainee.generator.config.to_dict(),
                "text_config": asdict(trainee.text_encoder.config), "args": asdict(args),
                "residual_scale": residual_scale}

    settings = LoopSettings(out, args.steps, args.minutes, progress=args.progress)
    step = run_loop("foundation", settings, start, train_step, state, ["loss", "grad_norm", "history"])
    speed = SpeedSuffix(*clips.settings["speed"])
    export_bundle(ema.module, args.codec, args.chunk_latents, speed, out / BUNDLE_DIR,
                  note=f"foundation model, EMA weights at step {step}" + (f" from {args.init}" if args.init else ""),
                  residual_scale=residual_scale)
    print(f"foundation at step {step} -> {out / BUNDLE_DIR}")
    return 0
