"""The small T5 text encoder: trimming, caption layout, action cache, save/load, offline use."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from yume_gym.actions import NUM_ACTIONS, caption_for_action
from yume_gym.model.text_encoder import (
    TextEncoder,
    TextEncoderConfig,
    build_text_encoder,
    load_text_encoder,
    save_text_encoder,
)
from yume_gym.model.weights_file import CONFIG_KEY, KIND_KEY

EVENT = "A storm rolls in and rain starts to fall."
ACTION = caption_for_action(10)


@pytest.fixture
def encoder() -> TextEncoder:
    torch.manual_seed(0)
    return build_text_encoder()


class ForwardCounter:
    """Counts forward passes of the T5 encoder."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.calls = 0
        encoder.t5.register_forward_hook(self._hook)

    def _hook(self, *_: object) -> None:
        self.calls += 1


def test_parts_are_trimmed_to_their_tokens(encoder: TextEncoder) -> None:
    texts = [ACTION, EVENT, "é→"]
    parts = encoder.encode_parts(texts)
    for text, emb in zip(texts, parts, strict=True):
        assert emb.shape == (len(text.encode("utf-8")) + 1, 64)  # one token per byte, plus EOS
        assert emb.shape[0] == encoder.token_count(text)
        assert not emb.requires_grad


def test_caption_is_action_then_event_then_zeros(encoder: TextEncoder) -> None:
    action, event = encoder.encode_parts([ACTION, EVENT])
    la, le = action.shape[0], event.shape[0]
    caption = encoder.encode_caption(ACTION, EVENT)
    assert caption.shape == (512, 64)
    assert torch.equal(caption[:la], action)
    assert torch.equal(caption[la : la + le], event)
    assert torch.count_nonzero(caption[la + le :]) == 0
    assert (
        torch.count_nonzero(caption[: la + le].abs().sum(dim=1)) == la + le
    )  # no zero rows inside
    swapped = encoder.encode_caption(EVENT, ACTION)
    assert not torch.equal(swapped[:la], caption[:la])


def test_no_event_is_action_then_zeros(encoder: TextEncoder) -> None:
    la = encoder.token_count(ACTION)
    caption = encoder.encode_caption(ACTION, None)
    assert torch.equal(caption[:la], encoder.encode_parts([ACTION])[0])
    assert torch.count_nonzero(caption[la:]) == 0
    assert torch.equal(encoder.encode_caption(ACTION, ""), caption)


def test_batch_matches_single_captions(encoder: TextEncoder) -> None:
    captions = [(caption_for_action(a), EVENT if a % 2 else None) for a in (0, 5, 40, 80)]
    batch = encoder.encode_batch(captions)
    assert batch.shape == (4, 512, 64)
    fresh = build_text_encoder()
    fresh.load_state_dict(encoder.state_dict())
    for row, (action, event) in zip(batch, captions, strict=True):
        assert torch.equal(row, fresh.encode_caption(action, event))


def test_truncation_rules() -> None:
    torch.manual_seed(0)
    enc = build_text_encoder(TextEncoderConfig(max_length=16, text_len=24))
    with pytest.warns(UserWarning, match="cut to max_length 16"):
        (part,) = enc.encode_parts(["x" * 40])
    assert part.shape == (16, 64)
    with pytest.warns(UserWarning) as record:
        caption = enc.encode_caption("a" * 10, "b" * 20)  # 11 + 16 tokens -> 24 rows
    messages = " | ".join(str(w.message) for w in record)
    assert "text of 21 tokens is cut to max_length 16" in messages
    assert "27 tokens, more than text_len 24" in messages
    with pytest.warns(UserWarning, match="cut to max_length 16"):
        action, event = enc.encode_parts(["a" * 10, "b" * 20])
    assert torch.equal(caption[:11], action)
    assert torch.equal(caption[11:], event[:13])  # the event's tail is what gets cut


def test_cache_encodes_each_action_and_event_once(encoder: TextEncoder) -> None:
    counter = ForwardCounter(encoder)
    captions = [(caption_for_action(a), None) for a in range(NUM_ACTIONS)]
    first = encoder.encode_batch(captions + captions[:10])
    assert counter.calls == NUM_ACTIONS
    assert encoder.cache_info() == (10, NUM_ACTIONS, NUM_ACTIONS)
    second = encoder.encode_batch(captions)
    assert counter.calls == NUM_ACTIONS  # all hits
    assert torch.equal(first[:NUM_ACTIONS], second)
    encoder.encode_batch([(ACTION, EVENT), (ACTION, EVENT)])
    assert counter.calls == NUM_ACTIONS + 1  # the event once; the action is cached
    encoder.encode_batch([(ACTION, EVENT)])
    assert counter.calls == NUM_ACTIONS + 1  # the event is cached too
    encoder.clear_cache()
    assert encoder.cache_info() == (0, 0, 0)
    encoder.encode_caption(ACTION)
    assert counter.calls == NUM_ACTIONS + 2


def test_cache_is_bounded_and_invalidated() -> None:
    torch.manual_seed(0)
    enc = build_text_encoder(TextEncoderConfig(cache_size=2))
    for a in range(3):
        enc.encode_action(caption_for_action(a))
    assert enc.cache_info().size == 2
    enc.load_state_dict(enc.state_dict())
    assert enc.cache_info().size == 0
    enc.encode_action(ACTION)
    enc.to(torch.float64)
    assert enc.cache_info().size == 0
    assert enc.encode_caption(ACTION).dtype == torch.float64


def test_embeddings_can_feed_a_trainable_layer(encoder: TextEncoder) -> None:
    context = encoder.encode_batch([(ACTION, EVENT)])  # (1, 512, 64)
    layer = torch.nn.Linear(64, 8)
    layer(context).square().mean().backward()
    assert layer.weight.grad is not None


def test_same_seed_same_embeddings() -> None:
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        outs.append(build_text_encoder().encode_caption(ACTION, EVENT))
    assert torch.equal(outs[0], outs[1])


def test_save_load_round_trip(encoder: TextEncoder, tmp_path) -> None:
    path = save_text_encoder(encoder, tmp_path / "text.safetensors")
    loaded = load_text_encoder(path)
    assert loaded.config == encoder.config
    assert torch.equal(loaded.encode_caption(ACTION, EVENT), encoder.encode_caption(ACTION, EVENT))
    t5 = loaded.t5
    assert t5.shared.weight.data_ptr() == t5.encoder.embed_tokens.weight.data_ptr()  # still tied
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.safetensors"]


def test_strict_load_errors(encoder: TextEncoder, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no weight file"):
        load_text_encoder(tmp_path / "absent.safetensors")
    path = save_text_encoder(encoder, tmp_path / "text.safetensors")
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = f.metadata()
    config = json.loads(metadata[CONFIG_KEY])
    config["num_layers"] = 3  # the file has 2 layers: the third is missing
    save_file(tensors, str(path), metadata={**metadata, CONFIG_KEY: json.dumps(config)})
    with pytest.raises(
        ValueError, match=r"missing: t5\.encoder\.block\.2\.layer\.0\.SelfAttention\.q\.weight"
    ):
        load_text_encoder(path)
    save_file(tensors, str(path), metadata={KIND_KEY: "yume_gym.codec", CONFIG_KEY: "{}"})
    with pytest.raises(ValueError, match="not 'yume_gym.text_encoder'"):
        load_text_encoder(path)


def test_tokenizer_works_offline(tmp_path) -> None:
    """Build and run the encoder with the hub off and an empty cache; nothing gets downloaded."""
    home = tmp_path / "hf_home"
    home.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(home)}
    code = (
        "from yume_gym.model.text_encoder import build_text_encoder\n"
        "enc = build_text_encoder()\n"
        "print(tuple(enc.encode_caption('First-person perspective.', 'Night falls.').shape))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("(512, 64)")
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda e: e.encode_caption(3, None), TypeError, "action text must be a str, got int"),
        (lambda e: e.encode_caption("", None), ValueError, "empty string"),
        (
            lambda e: e.encode_caption(ACTION, 5),
            TypeError,
            "event text must be a str or None, got int",
        ),
        (lambda e: e.encode_batch([]), ValueError, "non-empty list"),
        (
            lambda e: e.encode_batch([ACTION]),
            TypeError,
            r"captions\[0\] must be an \(action_text, event_text\) pair",
        ),
        (lambda e: e.encode_parts(ACTION), TypeError, "list of strings"),
        (lambda e: e.encode_parts(["ok", None]), TypeError, r"texts\[1\] must be a str"),
    ],
)
def test_bad_inputs(encoder: TextEncoder, call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call(encoder)


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="divisible by num_heads"):
        TextEncoderConfig(d_model=66, num_heads=4)
    with pytest.raises(ValueError, match="text_len must be a positive integer"):
        TextEncoderConfig(text_len=0)
    with pytest.raises(TypeError, match="TextEncoderConfig"):
        build_text_encoder({"d_model": 64})
