"""Maxout: each unit is the largest of its k pieces (Goodfellow et al., 2013).

A maxout layer's weight matrix has k rows per unit; rows k*j .. k*j + k - 1
give unit j's pieces z_j1 .. z_jk, and the unit's value is max_p z_jp, which
the layer's activation then takes as its z.  Only the winning piece moves the
unit, so dC/dz_jp = [p wins] * g_j.  Where pieces tie the max has no
derivative (a kink, like ReLU's at 0); the pieces then share g_j equally, as
torch's ``amax`` and jax's ``max`` do.

The textbook form treats each piece as a unit of its own whose value it is,
with derivative 1, as for a linear unit: every piece gets g_j.  Its repair is
the share of g_j the losing pieces must give back.
"""

import numpy as np
from gradcert.reference.textbook import ELEMENTWISE, Step


class Maxout(Step):
    name = "maxout"
    assumption = ELEMENTWISE
    formula = "the share of g_j each piece that does not win gives back: -(1 - [p wins] / #winners) g_j"

    def __init__(self, pieces):
        self.pieces = pieces

    def _grouped(self, z):
        return z.reshape(z.shape[0] // self.pieces, self.pieces, z.shape[1])  # (units, pieces, m)

    def forward(self, z):
        grouped = self._grouped(z)
        top = grouped.max(axis=1)
        wins = grouped == top[:, None, :]
        return top, wins / wins.sum(axis=1, keepdims=True)  # each piece's share of its unit's g

    def vjp(self, share, g):
        return (share * g[:, None, :]).reshape(-1, g.shape[1])

    def textbook(self, share, g):
        return np.repeat(g, self.pieces, axis=0)  # every piece as if it were the unit

    def repair(self, share, g):
        return (-(1.0 - share) * g[:, None, :]).reshape(-1, g.shape[1])
