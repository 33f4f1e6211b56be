"""Targets gradcert cannot drive: exit 2 with what it found and what it expected, never exit 1."""

import numpy as np


class NoInterface:
    """Neither backprop, nor forward/backward, nor loss, nor update_mini_batch."""

    def __init__(self, sizes):
        self.sizes = sizes

    def train(self, data):
        return None


class BackwardTooManyArgs:
    """A layer whose backward needs three arguments nobody could guess."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, dout, cache, optimizer_state):
        return dout


def three_arguments(a, b, c):
    """A callable that is no grad(arch, weights, biases, x, y) and no one-argument factory."""
    return a
