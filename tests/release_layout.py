"""The released Yume-5B checkpoint layout at toy size, shared by the doctor, umt5 and Yume5B-v0 tests.

Small configs of the three released components, a tiny umt5-format tokenizer, and writers of a
checkpoint directory in the Wan-native layout (Yume-5B-720P) and the diffusers layout.
"""

import json

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from torch import nn
from transformers import T5Tokenizer, UMT5EncoderModel

from yume_gym.model import build_generator
from yume_gym.model.generator import released_config
from yume_gym.model.umt5 import UMT5TextEncoder, save_umt5, umt5_xxl_config
from yume_gym.model.wan_vae import build_wan_vae, save_wan_vae, wan22_vae_config

DIT = {"model_type": "ti2v", "patch_size": [1, 2, 2], "text_len": 512, "in_dim": 4, "dim": 32,
       "ffn_dim": 64, "freq_dim": 16, "text_dim": 32, "out_dim": 4, "num_heads": 2, "num_layers": 1}
VAE = wan22_vae_config(base_dim=8, decoder_base_dim=8, z_dim=4, latents_mean=[0.1, -0.2, 0.0, 0.3],
                       latents_std=[0.5, 1.5, 1.0, 0.8])
T5 = umt5_xxl_config(vocab_size=40, d_model=32, d_kv=8, d_ff=48, num_layers=1, num_heads=4)
WORDS = ["▁the", "▁camera", "▁pushes", "▁forward", "▁pans", "▁left", "▁right", "▁street", "."]
T5_FILE, VAE_FILE, DIT_FILE = "models_t5_umt5-xxl-enc-bf16.pth", "Wan2.2_VAE.pth", "diffusion_pytorch_model.safetensors"


def save_small_tokenizer(folder, words=WORDS):
    """A 40-token unigram tokenizer (pad 0, eos 1, unk 2) with ``words`` in the umt5 format."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)] + [(w, -1.0) for w in words]
    pieces += [(chr(c), -3.0) for c in range(ord("a"), ord("a") + 40 - len(pieces))]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    T5Tokenizer(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                extra_ids=0).save_pretrained(str(folder))
    return folder


def release_parts():
    """(DiT, VAE, umt5) of the small configs, seeded, with every weight live (no zero convs or
    unit gammas, a head that lets actions reach the frames)."""
    torch.manual_seed(0)
    dit = build_generator(released_config(DIT), device="cpu")
    nn.init.normal_(dit.head.head.weight, std=0.02)
    vae = build_wan_vae(VAE)
    with torch.no_grad():
        for p in vae.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return dit, vae, UMT5EncoderModel(T5)


def write_release_dir(root, parts, layout):
    """A checkpoint directory at ``root``: ``layout`` "native" (Yume-5B-720P's Wan-native VAE and
    umt5 files, google/umt5-xxl tokenizer) or "diffusers" (vae/, text_encoder/, tokenizer/)."""
    dit, vae, t5 = parts
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(DIT))
    save_file({k: v.contiguous() for k, v in dit.state_dict().items()}, str(root / DIT_FILE))
    if layout == "native":
        save_wan_vae(vae, root / VAE_FILE)
        save_umt5(UMT5TextEncoder(t5, tokenizer=None), root / T5_FILE)
        save_small_tokenizer(root / "google" / "umt5-xxl")
    else:
        vae.vae.save_pretrained(root / "vae")
        t5.save_pretrained(root / "text_encoder")
        save_small_tokenizer(root / "tokenizer")
    return root
