"""Frame metrics on uint8 RGB frames (..., H, W, 3): PSNR, SSIM and the event measures."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PSNR in dB per frame of two (N, H, W, 3) uint8 arrays (pixels in 0..255) -> (N,)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2, axis=(1, 2, 3))
    return 10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM per frame (N,) of two (N, H, W, 3) uint8 arrays: the Wang et al. (2004) index with an
    11x11 Gaussian window (sigma 1.5) on each channel, averaged over pixels and channels."""
    x = torch.from_numpy(a).permute(0, 3, 1, 2).double()  # (N, 3, H, W)
    y = torch.from_numpy(b).permute(0, 3, 1, 2).double()
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    g = g / g.sum()
    window = (g[:, None] * g[None, :]).expand(3, 1, 11, 11)  # (3, 1, 11, 11), one per channel

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=3)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    index = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return index.mean(dim=(1, 2, 3)).numpy()


def brightness(frames: np.ndarray) -> float:
    """Mean pixel value (0..255)."""
    return float(frames.mean())


def whiteness(frames: np.ndarray) -> float:
    """Mean of each pixel's smallest channel: high only where pixels are both bright and grey (snow)."""
    return float(frames.min(axis=-1).mean())


def contrast(frames: np.ndarray) -> float:
    """Mean per-frame standard deviation of the grey level (fog lowers it)."""
    grey = frames.astype(np.float64).mean(axis=-1)
    return float(grey.reshape(len(grey), -1).std(axis=1).mean())


def warmth(frames: np.ndarray) -> float:
    """Mean red minus blue (a sunset raises it)."""
    f = frames.astype(np.float64)
    return float((f[..., 0] - f[..., 2]).mean())


def red_fraction(frames: np.ndarray) -> float:
    """Share of clearly red pixels (red 40 above both green and blue)."""
    f = frames.astype(np.int32)
    return float(np.mean((f[..., 0] > f[..., 1] + 40) & (f[..., 0] > f[..., 2] + 40)))
