"""Stochastic layers (tests/zoo/styles/stochastic_layers.py), one bug each."""

from ..styles import stochastic_layers


class DropoutRedrawsMask(stochastic_layers.Dropout):
    def backward(self, dout):
        mask = (self.rng.random(dout.shape) >= self.p) / (1.0 - self.p)  # BUG: a fresh mask, not forward's
        return dout * mask


class NoisyScaleIgnoresNoise(stochastic_layers.NoisyScale):
    def backward(self, dout):
        return dout  # BUG: the scale drawn in forward is not applied
