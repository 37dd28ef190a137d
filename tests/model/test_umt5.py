"""The umt5 text encoder: key conversion at real size (meta device), loading, captions."""

import hashlib

import pytest
import torch
from transformers import UMT5EncoderModel

from release_layout import save_small_tokenizer
from yume_gym.model.safe_load import load_pth, save_pth
from yume_gym.model.umt5 import (
    UMT5TextEncoder,
    clean_text,
    find_text_encoder,
    load_tokenizer,
    load_umt5,
    meta_umt5,
    save_umt5,
    umt5_xxl_config,
)
from yume_gym.model.umt5_keys import TIED_ALIAS, hf_to_wan_name, wan_manifest, wan_to_hf_state

# Manifest of Wan's own T5Encoder (Wan2.2 wan/modules/t5.py, umt5_xxl(encoder_only=True):
# vocab 256384, dim 4096, ffn 10240, 64 heads, 24 layers, 32 buckets, shared_pos False) built
# on the meta device: sha256 of the sorted lines "name [shape]", key and parameter counts.
WAN_T5_DIGEST = "d6379851fe159f731ef389ae07835eb08fa89ec5d66c040b0d37ac466279d11b"
WAN_T5_KEYS, WAN_T5_PARAMS = 242, 5_680_910_336
SMALL = dict(vocab_size=40, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4)
WORDS = ["▁the", "▁camera", "▁pans", "▁left", "▁right", "▁storm", "▁night", "▁falls", "."]


def _digest(manifest):
    text = "\n".join(f"{name} {list(shape)}" for name, shape in sorted(manifest.items()))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return save_small_tokenizer(tmp_path_factory.mktemp("tok") / "google" / "umt5-xxl", WORDS)


@pytest.fixture(scope="module")
def small(tokenizer_dir):
    torch.manual_seed(0)
    model = UMT5EncoderModel(umt5_xxl_config(**SMALL))
    return UMT5TextEncoder(model, load_tokenizer(tokenizer_dir), text_len=24)


def test_real_size_manifest_matches_wan():
    model = meta_umt5(umt5_xxl_config())
    manifest = wan_manifest(model)
    assert len(manifest) == WAN_T5_KEYS
    assert sum(torch.Size(s).numel() for s in manifest.values()) == WAN_T5_PARAMS
    assert _digest(manifest) == WAN_T5_DIGEST
    assert manifest["blocks.23.pos_embedding.embedding.weight"] == (32, 64)
    assert manifest["blocks.0.ffn.gate.0.weight"] == (10240, 4096)
    assert manifest["token_embedding.weight"] == (256384, 4096)


def test_real_size_conversion_lands_every_key():
    model = meta_umt5(umt5_xxl_config())
    wan_state = {n: torch.empty(s, device="meta") for n, s in wan_manifest(model).items()}
    state = wan_to_hf_state(wan_state, model)
    state[TIED_ALIAS] = state["shared.weight"]
    model.load_state_dict(state, strict=True, assign=True)  # raises on any leftover/missing
    with pytest.raises(ValueError, match="not umt5 encoder parameter names"):
        wan_to_hf_state({**wan_state, "blocks.0.extra": torch.empty(1)}, model)
    with pytest.raises(ValueError, match="no Wan-native name"):
        hf_to_wan_name("encoder.block.0.layer.2.weight")


def test_padded_batch_equals_texts_alone(small):
    texts = ["the camera pans left.", "the storm falls", "night"]
    together = small.encode_parts(texts)
    assert [t.shape for t in together] == [(small.token_count(t), 32) for t in texts]
    for text, emb in zip(texts, together):
        torch.testing.assert_close(small.encode_parts([text])[0], emb, atol=1e-5, rtol=0)


def test_captions_and_cache(small):
    small.clear_cache()
    action, event = "the camera pans left.", "the storm falls"
    out = small.encode_batch([(action, event), (action, None)])
    n_a, n_e = small.token_count(action), small.token_count(event)
    assert out.shape == (2, 24, 32)
    torch.testing.assert_close(out[0, :n_a], small.encode_action(action))
    torch.testing.assert_close(out[0, n_a : n_a + n_e], small.encode_parts([event])[0], atol=1e-5, rtol=0)
    assert out[0, n_a + n_e :].abs().sum() == 0 and out[1, n_a:].abs().sum() == 0
    assert small.cache_info() == (2, 2, 2)  # action and event missed once; the action hit twice
    small.encode_batch([(action, event)])
    assert small.cache_info() == (4, 2, 2)  # the scene/event text is not encoded again
    torch.testing.assert_close(small.encode_caption(action), out[1])


def test_long_texts_are_cut_with_a_warning(small):
    with pytest.warns(UserWarning, match="cut to 24"):
        (emb,) = small.encode_parts(["the camera pans left " * 10])
    assert emb.shape == (24, 32)
    with pytest.raises(TypeError, match="must be a str"):
        small.encode_parts([3])
    with pytest.raises(ValueError, match="non-empty list"):
        small.encode_batch([])


def test_clean_text():
    assert clean_text("  the &amp;amp; camera\n\t pans ") == "the & camera pans"


def test_native_file_round_trip(tmp_path, small, tokenizer_dir):
    save_umt5(small, tmp_path / "models_t5_umt5-xxl-enc-bf16.pth")
    save_small_tokenizer(tmp_path / "google" / "umt5-xxl", WORDS)
    assert find_text_encoder(tmp_path).kind == "native"
    loaded = load_umt5(tmp_path, config=umt5_xxl_config(**SMALL), text_len=24)
    assert loaded.model.encoder.embed_tokens.weight is loaded.model.shared.weight
    texts = ["the camera pans right.", "night falls"]
    for a, b in zip(loaded.encode_parts(texts), small.encode_parts(texts)):
        assert torch.equal(a, b)


def test_hf_folder_round_trip(tmp_path, small):
    small.model.save_pretrained(tmp_path / "text_encoder")
    save_small_tokenizer(tmp_path / "tokenizer", WORDS)
    assert find_text_encoder(tmp_path).kind == "hf"
    loaded = load_umt5(tmp_path, text_len=24)
    texts = ["the camera pans right.", "night falls"]
    for a, b in zip(loaded.encode_parts(texts), small.encode_parts(texts)):
        assert torch.equal(a, b)


def test_strict_loading_and_missing_tokenizer(tmp_path, small, tokenizer_dir):
    state = load_pth(save_umt5(small, tmp_path / "good.pth"))
    state["blocks.1.attn.q.weight"] = state["blocks.1.attn.q.weight"][:, :16]
    save_pth(state, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=r"shape: blocks.1.attn.q.weight: file \[32, 16\] vs model \[32, 32\]"):
        load_umt5(tmp_path / "bad.pth", tokenizer=tokenizer_dir, config=umt5_xxl_config(**SMALL))
    with pytest.raises(FileNotFoundError, match="pass tokenizer=DIR"):
        load_umt5(tmp_path / "good.pth", config=umt5_xxl_config(**SMALL))
    with pytest.raises(FileNotFoundError, match="no text encoder at"):
        load_umt5(tmp_path / "nowhere")


def test_offload_keeps_weights_on_cpu_and_results_equal(small, tokenizer_dir):
    offloaded = UMT5TextEncoder(small.model, small.tokenizer, text_len=24, device="cpu", offload=True)
    moves = []
    original_to = offloaded.model.to
    offloaded.model.to = lambda *a, **k: moves.append(torch.device(a[0])) or original_to(*a, **k)
    try:
        emb = offloaded.encode_parts(["the camera pans left."])
    finally:
        del offloaded.model.to
    assert moves == [torch.device("cpu"), torch.device("cpu")]  # to the run device, then back
    assert torch.equal(emb[0], small.encode_parts(["the camera pans left."])[0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_offload_moves_the_encoder_off_the_gpu(small):
    encoder = UMT5TextEncoder(small.model, small.tokenizer, text_len=24, device="cuda", offload=True)
    (emb,) = encoder.encode_parts(["the camera pans left."])
    assert emb.device.type == "cuda" and encoder.model.shared.weight.device.type == "cpu"
