#!/usr/bin/python3
"""PyTorch DDP's side of the data-parallel LibTorch benchmark.

Trains the MLP of troupe's mlp jobs on Fashion-MNIST with
torch.nn.parallel.DistributedDataParallel over the gloo backend, in
--workers processes of one intra-op thread each (torch.set_num_threads(1)),
started here and joined through a TCP rendezvous on 127.0.0.1.

The model is troupe's: the inputs standardised inside forward() by the
training set's per-pixel mean and std, with --conv C1,C2 a small CNN (3x3
convolutions of C channels, padding 1, ReLU, 2x2 max-pools, as troupe's
[model] conv), --layers hidden Linear layers of
--width units with ReLU, a Linear head of 10 logits, PyTorch's default
Linear initialisation (uniform +-1/sqrt(fan_in), as troupe draws it),
softmax cross-entropy, AdamW(lr, weight_decay). Each epoch every worker
shuffles its own contiguous block of the training rows and takes
--batch / --workers rows a step, as troupe's workers do; DDP averages the
gradients in its buckets while backward runs.

The peer draws what troupe draws, so that the two sides differ only in how
they train: the weights from a generator seeded with --seed (conv, hidden
and head layers in turn, weight then bias), the rows dealt in troupe's
order (net_data.cpp's deal_order: Fisher-Yates over splitmix64 seeded with
--seed) in contiguous blocks, and epoch e's shuffle of worker r's block
torch.randperm with a generator seeded mix(seed ^ mix(e + 1) ^
mix(r + 17)), mix being splitmix64's step (torch_parallel.cpp). With
--own-order the rows are shuffled with torch's generators instead, and the
weights drawn from torch's global one (the earlier behaviour).

The time counts the epochs (steps, allreduces, optimizer), not the
interpreter's start, reading the data or building the model; examples/s is
the rows trained per second over every worker. Worker 0 then scores the
10,000 test images.

Output, one JSON object on stdout:

  {"tool": "pytorch-ddp", "workers": W, "epochs": E, "global_batch": B,
   "steps_per_epoch": S, "train_s": T, "examples_per_s": E*S*B/T,
   "test_accuracy": A, "torch_version": "1.13.1"}

With --write-module PATH it writes that model instead, scripted
(torch.jit.script) and scaling the raw pixels by 1/255 in place of the
standardisation, and exits; with --module PATH the workers train that
TorchScript module (torch.jit.load) under DDP on the raw pixels: the
benchmark's --script mode, where troupe's torchscript job trains the same
file.

Run with Debian's interpreter (python3-torch):

  /usr/bin/python3 tests/bench/peers/ddp_mlp.py --data DIR --workers 2
"""

import argparse
import gzip
import json
import os
import socket
import struct
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn


M64 = (1 << 64) - 1


def mix(x):
    """splitmix64's step: troupe's torch_mlp::mix."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def deal_order(n, seed):
    """troupe's deal_order (net_data.cpp): Fisher-Yates over splitmix64."""
    order = list(range(n))
    state = seed & M64
    for i in range(n - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        j = z % (i + 1)
        order[i], order[j] = order[j], order[i]
    return torch.tensor(order, dtype=torch.long)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic == 0x803:
        n, h, w = struct.unpack(">III", data[4:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, h * w)
    if magic == 0x801:
        (n,) = struct.unpack(">I", data[4:8])
        return np.frombuffer(data, np.uint8, offset=8)
    raise ValueError(f"{path}: not an IDX file (magic {magic:#x})")


def load(data_dir, name):
    def find(stem):
        for p in (stem + ".gz", stem):
            full = os.path.join(data_dir, p)
            if os.path.exists(full):
                return full
        raise FileNotFoundError(os.path.join(data_dir, stem))

    x = read_idx(find(f"{name}-images-idx3-ubyte")).astype(np.float32)
    y = read_idx(find(f"{name}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


class Net(nn.Module):
    def __init__(self, inputs, layers, width, mean, std, conv=()):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        # troupe's CNN: 3x3 convolutions (padding 1), ReLU, 2x2 max-pools
        self.side = int(round(inputs ** 0.5))
        self.conv = nn.ModuleList()
        channels, side = 1, self.side
        for c in conv:
            self.conv.append(nn.Conv2d(channels, c, 3, padding=1))
            channels, side = c, side // 2
        first = channels * side * side if conv else inputs
        dims = [first] + [width] * layers
        self.hidden = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.head = nn.Linear(dims[-1], 10)
        self.init_weights(None)

    def init_weights(self, gen):
        """U(+-1/sqrt(fan_in)) in troupe's order, from `gen` (None: torch's
        global generator)."""
        with torch.no_grad():
            for l in list(self.conv) + list(self.hidden) + [self.head]:
                bound = 1.0 / (l.weight[0].numel()) ** 0.5
                l.weight.uniform_(-bound, bound, generator=gen)
                l.bias.uniform_(-bound, bound, generator=gen)

    def forward(self, x):
        h = (x - self.mean) / self.std
        if len(self.conv):
            h = h.view(-1, 1, self.side, self.side)
            for c in self.conv:
                h = torch.max_pool2d(torch.relu(c(h)), 2)
            h = h.flatten(1)
        for l in self.hidden:
            h = torch.relu(l(h))
        return self.head(h)


def worker(rank, args, port, out):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=args.workers)
    x, y = load(args.data, "train")
    if args.own_order:
        g = torch.Generator().manual_seed(args.seed)
        order = torch.randperm(x.size(0), generator=g)
    else:
        order = deal_order(x.size(0), args.seed)
    x, y = x[order], y[order]
    mean = x.double().mean(0)
    std = (x.double() - mean).square().mean(0).sqrt()
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    torch.manual_seed(args.seed)
    conv = [int(c) for c in args.conv.split(",") if c]
    if args.module:
        net = torch.jit.load(args.module)
    else:
        net = Net(x.size(1), args.layers, args.width, mean.float(),
                  std.float(), conv)
        if not args.own_order:
            net.init_weights(torch.Generator().manual_seed(args.seed))
    model = nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr,
                            weight_decay=args.weight_decay)
    n = x.size(0)
    begin = rank * n // args.workers
    end = (rank + 1) * n // args.workers
    xs, ys = x[begin:end], y[begin:end]
    local = args.batch // args.workers
    steps = (n // args.workers) // local
    loss_fn = nn.CrossEntropyLoss()
    dist.barrier()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        seed = (args.seed * 1000 + epoch * 10 + rank if args.own_order else
                mix(args.seed ^ mix(epoch + 1) ^ mix(rank + 17)))
        perm = torch.randperm(xs.size(0),
                              generator=torch.Generator().manual_seed(seed))
        for s in range(steps):
            idx = perm[s * local:(s + 1) * local]
            opt.zero_grad()
            loss = loss_fn(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
    dist.barrier()
    train_s = time.perf_counter() - t0
    if rank == 0:
        tx, ty = load(args.data, "t10k")
        with torch.no_grad():
            acc = (net(tx).argmax(1) == ty).float().mean().item()
        out.put({
            "tool": "pytorch-ddp",
            "workers": args.workers,
            "epochs": args.epochs,
            "global_batch": local * args.workers,
            "steps_per_epoch": steps,
            "train_s": train_s,
            "examples_per_s": args.epochs * steps * local * args.workers /
            train_s,
            "test_accuracy": acc,
            "torch_version": torch.__version__,
        })
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="Fashion-MNIST directory")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--own-order", action="store_true",
                   help="shuffle and draw with torch's generators, not in "
                   "troupe's order")
    p.add_argument("--conv", default="",
                   help="a CNN first: channels of its conv blocks (8,16)")
    p.add_argument("--module", default="",
                   help="train this TorchScript module instead")
    p.add_argument("--write-module", default="",
                   help="write the model, scripted, to this path and exit")
    args = p.parse_args()
    if args.write_module:
        torch.manual_seed(args.seed)
        conv = [int(c) for c in args.conv.split(",") if c]
        net = Net(28 * 28, args.layers, args.width, torch.zeros(28 * 28),
                  torch.full((28 * 28,), 255.0), conv)
        torch.jit.script(net).save(args.write_module)
        print(json.dumps({"module": args.write_module}))
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    procs = [ctx.Process(target=worker, args=(r, args, port, out))
             for r in range(args.workers)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()
        if pr.exitcode != 0:
            sys.exit(f"ddp_mlp: worker exited with {pr.exitcode}")
    print(json.dumps(out.get()))


if __name__ == "__main__":
    main()
