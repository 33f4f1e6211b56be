"""Layers that draw random numbers in forward, from generators they hold themselves.

A harness holds randomness fixed by restoring the state of every generator a
layer keeps before each call (and by seeding np.random and random for those
that use the global ones, as tests/zoo/styles/dlfs_layers.py's Dropout does).

* ``Dropout`` -- inverted dropout, ``self.rng = np.random.default_rng(seed)``,
  forward(x, training=True), the mask kept for backward.
* ``LegacyDropout`` -- the same with ``np.random.RandomState(seed)``.
* ``GaussianNoise`` -- adds ``sigma * N(0, 1)`` noise drawn from a
  ``random.Random(seed)``: dx = dout whatever the noise.
* ``NoisyScale`` -- y = x * (1 + sigma * eps) with eps from the layer's
  Generator, a multiplicative noise whose derivative depends on the draw.
"""

import random

import numpy as np


class Dropout:
    def __init__(self, p=0.5, seed=0):
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x, training=True):
        if not training:
            return x
        self.mask = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class LegacyDropout:
    def __init__(self, keep_prob=0.7, seed=0):
        self.keep_prob = keep_prob
        self.random_state = np.random.RandomState(seed)

    def forward(self, x):
        self.mask = (self.random_state.rand(*x.shape) < self.keep_prob) / self.keep_prob
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class GaussianNoise:
    def __init__(self, sigma=0.1, seed=0):
        self.sigma = sigma
        self.random = random.Random(seed)

    def forward(self, x):
        noise = np.array([self.random.gauss(0.0, 1.0) for _ in range(x.size)]).reshape(x.shape)
        return x + self.sigma * noise

    def backward(self, dout):
        return dout


class NoisyScale:
    def __init__(self, sigma=0.3, seed=None):
        self.sigma = sigma
        self.generator = np.random.default_rng(seed)

    def forward(self, x):
        self.scale = 1.0 + self.sigma * self.generator.standard_normal(x.shape)
        return x * self.scale

    def backward(self, dout):
        return dout * self.scale
