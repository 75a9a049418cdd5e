#!/usr/bin/env python3
"""Writes the user TorchScript modules that troupe's tests train as
data-parallel jobs (family "torchscript"), as a PyTorch user writes them:
torch.jit.script of an nn.Module whose forward() takes the raw float rows
[batch, columns] and, for two of them, a `loss(output, target)` method.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 make_modules.py
The files are committed; this script is how they were made.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class BinaryNet(nn.Module):
    """8 columns -> P(class 1), [batch]; its own loss (mean BCE)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(8, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.hidden(x))
        return torch.sigmoid(self.out(h)).squeeze(1)

    @torch.jit.export
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy(output, target)


class RegressionNet(nn.Module):
    """8 columns -> a value, [batch]; no `loss` method (the job's default,
    mse, or the config's `loss`)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(8, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(x))).squeeze(1)

    @torch.jit.export
    def per_row(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Not a loss troupe takes: one value per row, not the mean."""
        return (output - target) ** 2


class FashionCnn(nn.Module):
    """784 raw pixels (0..255) -> 10 class logits; its own loss."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.hidden = nn.Linear(8 * 7 * 7, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 1, 28, 28) / 255.0
        x = F.max_pool2d(F.relu(self.conv(x)), 4)
        return self.out(F.relu(self.hidden(x.flatten(1))))

    @torch.jit.export
    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)


if __name__ == "__main__":
    torch.manual_seed(7)
    for name, net in [("binary_net.pt", BinaryNet()),
                      ("regression_net.pt", RegressionNet()),
                      ("fashion_cnn.pt", FashionCnn())]:
        torch.jit.script(net).save(name)
        print("wrote", name)
