"""The paper's channel branch: linear-attention math, history patchify, on/off behaviour."""

import dataclasses

import torch

from yume_gym.model import PRESETS, build_generator
from yume_gym.model.channel_branch import ChannelFusion, patchify_history
from yume_gym.model.rope import rope_cos_sin

CFG = dataclasses.replace(PRESETS["test"], channel_branch=True, channel_dim=24, channel_heads=2)


def rotate(x, positions, theta=10000.0):
    """Reference RoPE: complex rotation of channel pairs; axes get d-4(d//6), 2(d//6), 2(d//6)."""
    d = x.shape[-1]
    dims = (d - 4 * (d // 6), 2 * (d // 6), 2 * (d // 6))
    angles = torch.cat(
        [
            positions[:, a, None].double() * theta ** (-torch.arange(0, n, 2).double() / n)
            for a, n in enumerate(dims)
        ],
        dim=1,
    )  # (L, d/2)
    pairs = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * torch.polar(torch.ones_like(angles), angles)).flatten(-2)


def split(t):
    """(B, L, 24) -> (B, 2 heads, L, 12)."""
    return t.reshape(*t.shape[:2], 2, 12).transpose(1, 2)


def test_linear_attention_matches_the_written_formula():
    torch.manual_seed(0)
    fusion = ChannelFusion(dim=32, width=24, num_heads=2)
    with torch.no_grad():
        for p in fusion.parameters():
            p.normal_(0, 0.3)
    x, z = torch.randn(2, 5, 32), torch.randn(2, 7, 24)
    positions = torch.randint(0, 1500, (12, 3))
    with torch.no_grad():
        got = fusion(x, z, rope_cos_sin(positions, 12))
        reduced = fusion.down(x)
        fused = torch.cat([z, reduced], 1)
        q = torch.relu(split(fusion.norm_q(fusion.q(reduced))))
        k = torch.relu(split(fusion.norm_k(fusion.k(fused))))
        v = split(fusion.v(fused)).double()
        scores = rotate(q, positions[-5:]) @ rotate(k, positions).transpose(-1, -2)  # (B, h, 5, 12)
        weights = q.double() @ k.double().transpose(-1, -2)  # phi(k)^T phi(q), before RoPE
        out = (scores @ v) / (weights.sum(-1, keepdim=True) + 1e-6)  # (B, h, 5, 12)
        out = out.transpose(1, 2).reshape(2, 5, 24).float()
        expected = fusion.up(fusion.o(fusion.norm_out(out)))
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_history_patchify_pads_time_on_the_oldest_side():
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(4, 24, (8, 4, 4), stride=(8, 4, 4))
    history = torch.randn(1, 4, 11, 6, 10)
    with torch.no_grad():
        tokens, positions, groups = patchify_history(conv, history)
        padded = torch.zeros(1, 4, 16, 8, 12)
        padded[:, :, 5:, :6, :10] = history
        expected = conv(padded).flatten(2).transpose(1, 2)
    assert groups == 2 and tokens.shape == (1, 2 * 2 * 3, 24)
    assert torch.allclose(tokens, expected, atol=1e-6)
    assert positions.tolist()[:4] == [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0]]


def randomised(cfg, seed=0):
    torch.manual_seed(seed)
    model = build_generator(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model


def run(model, history):
    torch.manual_seed(1)
    x, context = torch.randn(2, 4, 3, 6, 8), torch.randn(2, 5, CFG.text_dim)
    with torch.no_grad():
        return model(x, torch.tensor([100.0, 900.0]), context, history)


def test_switched_off_branch_equals_a_model_without_it():
    model = randomised(CFG)
    plain = build_generator(dataclasses.replace(CFG, channel_branch=False))
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if "channel" not in k})
    history = torch.randn(2, 4, 9, 6, 8)
    with_branch = run(model, history)
    model.configure(channel_branch_active=False)
    assert torch.equal(run(model, history), run(plain, history))
    assert not torch.allclose(with_branch, run(plain, history), atol=1e-3)
    assert run(model, None).shape == (2, 4, 3, 6, 8)


def test_fresh_branch_starts_as_identity_and_sees_the_history():
    torch.manual_seed(0)
    model = build_generator(CFG)
    with torch.no_grad():  # a trained-looking backbone, but the branch's restoring layer at zero
        for name, p in model.named_parameters():
            if "channel_fusion.up" not in name:
                p.normal_(0, 0.2)
    history = torch.randn(2, 4, 9, 6, 8)
    on = run(model, history)
    model.configure(channel_branch_active=False)
    assert torch.equal(on, run(model, history))
    # once the branch is trained, the chunk's output depends on z_linear of the history
    model.configure(channel_branch_active=True)
    with torch.no_grad():
        for block in model.blocks:
            block.channel_fusion.up.weight.normal_(0, 0.2)
        out_a = run(model, history)
        model.patch_embedding_channel.weight.mul_(2.0)
        out_b = run(model, history)
    assert not torch.allclose(out_a, out_b, atol=1e-4)
