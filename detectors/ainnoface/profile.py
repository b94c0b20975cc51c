"""Parameter and multiply-accumulate (MAC) counts with forward hooks, and a rough CPU timing.

Only convolutions and linear layers are counted (norms, activations, additions and resizes are
a few percent at most), which is the usual "GMAC" of detector papers.

    python -m detectors.ainnoface.profile small 640 640
"""

from __future__ import annotations

import sys
import time

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def count_macs(model: nn.Module, images: torch.Tensor, by_module: bool = False) -> int | dict[str, int]:
    """MACs of one forward pass of ``model`` on ``images`` (whole batch, convs + linears).

    With ``by_module``, a dict of MACs per top-level child module (``backbone``, ``fpn`` ...).
    """
    totals: dict[str, int] = {}

    def hook_for(name: str):
        top = name.split(".")[0]

        def hook(module: nn.Module, inputs, output) -> None:
            if isinstance(module, nn.Conv2d):
                kernel = module.kernel_size[0] * module.kernel_size[1] * (module.in_channels // module.groups)
            else:
                kernel = module.in_features
            totals[top] = totals.get(top, 0) + output.numel() * kernel

        return hook

    handles = [
        module.register_forward_hook(hook_for(name))
        for name, module in model.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    return dict(totals) if by_module else sum(totals.values())


def time_forward(model: nn.Module, images: torch.Tensor, repeats: int = 5) -> float:
    """Median wall time in ms of ``model(images)`` (after one warm-up run)."""
    times = []
    with torch.inference_mode():
        model(images)
        for _ in range(repeats):
            started = time.perf_counter()
            model(images)
            times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def main(argv: list[str]) -> None:
    from detectors.ainnoface.model import build_ainnoface

    variant = argv[0] if argv else "small"
    height, width = (int(argv[1]), int(argv[2])) if len(argv) >= 3 else (640, 640)
    model = build_ainnoface(variant).eval()
    images = torch.rand(1, 3, height, width) * 255
    macs = count_macs(model, images)
    print(f"{variant}: {count_parameters(model) / 1e6:.3f} M params, {macs / 1e9:.3f} GMAC at {height}x{width}")
    for name, value in count_macs(model, images, by_module=True).items():
        print(f"  {name}: {value / 1e9:.3f} GMAC")
    print(f"  forward: {time_forward(model, images):.0f} ms on {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main(sys.argv[1:])
