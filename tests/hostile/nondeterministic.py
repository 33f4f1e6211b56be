"""A gradient with random noise that no seed of the harness controls.

The noise (relative 1e-3) comes from a generator seeded by the operating system
on every call, so two calls on the same input disagree.
"""

import numpy as np

from . import _base


class NoisyGradient(_base.Network):
    def backprop(self, x, y):
        noise = np.random.default_rng()  # fresh OS entropy each call
        nabla_b, nabla_w = super().backprop(x, y)
        return ([b * (1 + 1e-3 * noise.standard_normal(b.shape)) for b in nabla_b],
                [w * (1 + 1e-3 * noise.standard_normal(w.shape)) for w in nabla_w])
