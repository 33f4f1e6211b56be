"""Dropout with a fixed mask: each unit's output multiplied by a constant.

The mask is part of the description (``Architecture.dropout``): 0 for a
dropped unit, 1 / (1 - p) for a kept one.  Multiplying by a constant is
elementwise, costs every example alike and uses each weight once, so the
textbook's equations hold unchanged: this is the map's control.
"""

import numpy as np
from gradcert.reference.textbook import Step


class Dropout(Step):
    name = "dropout"

    def __init__(self, mask):
        self.mask = np.asarray(mask, dtype=float).reshape(-1, 1)

    def forward(self, a):
        return a * self.mask, None

    def vjp(self, cache, g):
        return g * self.mask
