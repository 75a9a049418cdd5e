#!/usr/bin/python3
"""PyTorch's side of bench_recompute: torch.utils.checkpoint on the model
and batch troupe's recomputation runs (Linear(width, width) + ReLU blocks,
a squared-sum loss), counted the same way.

Peak memory: the bytes torch's CPU allocator hands out minus those it takes
back during one step (forward and backward) after a warm-up step, their
highest point, read from the profiler's memory events (the c10 hook
troupe's allocation_meter listens on). Step time: the median of --steps
steps without the profiler.

Variants: plain; checkpoint_sequential (reentrant, the input requires a
gradient as its documentation asks, else the first segment's parameters get
none); and checkpoint(use_reentrant=False) over the same segments.
Prints one JSON object.
"""
import argparse
import json
import time

import torch
from torch.utils.checkpoint import checkpoint, checkpoint_sequential


def build(blocks, width, seed):
    torch.manual_seed(seed)
    layers = []
    for _ in range(blocks):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers)


def non_reentrant(model, segments, x):
    mods = list(model.children())
    size = len(mods) // segments
    end = 0

    def run(a, b):
        def f(h):
            for m in mods[a:b]:
                h = m(h)
            return h
        return f

    for start in range(0, size * (segments - 1), size):
        end = start + size
        x = checkpoint(run(start, end), x, use_reentrant=False)
    return run(end, len(mods))(x)


def step_fn(model, x, variant, segments):
    if variant == "plain":
        return lambda: (model(x) ** 2).sum().backward()
    if variant == "reentrant":
        xr = x.detach().requires_grad_(True)
        return lambda: (checkpoint_sequential(model, segments, xr) ** 2).sum().backward()
    return lambda: (non_reentrant(model, segments, x) ** 2).sum().backward()


def peak_bytes(step):
    with torch.autograd.profiler.profile(profile_memory=True) as prof:
        step()
    events = [e for e in prof.kineto_results.events() if e.name() == "[memory]"]
    cur = peak = 0
    for e in sorted(events, key=lambda e: e.start_us()):
        cur += e.nbytes()
        peak = max(peak, cur)
    return peak


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--blocks", type=int, required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--segments", type=int, required=True)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = build(a.blocks, a.width, a.seed)
    x = torch.randn(a.batch, a.width)
    out = {"torch": torch.__version__}
    steps = {v: step_fn(model, x, v, a.segments)
             for v in ("plain", "reentrant", "non_reentrant")}
    for v, step in steps.items():
        step()  # the gradients exist before the measured steps
        out[v] = {"peak_bytes": peak_bytes(step), "seconds": []}
    for _ in range(a.steps):  # the variants take turns
        for v, step in steps.items():
            t0 = time.perf_counter()
            step()
            out[v]["seconds"].append(time.perf_counter() - t0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
