"""A mutant of tests/zoo/styles/nielsen_rows.py (examples as rows, W (n_in, n_out), b (1, n))."""

import numpy as np

from ..styles.nielsen_rows import Network, da_dz


class HiddenDaDzMissing(Network):
    def backprop(self, x, y):
        outs = self.forward(x)
        delta = self.loss_prime(outs[-1], y) * da_dz(outs[-1]).T
        nabla_w = [np.dot(outs[-2].T, delta.T)]
        nabla_b = [delta.T]
        for layer in range(len(self.sizes) - 2, 0, -1):
            delta = np.dot(self.weights[layer], delta)  # BUG: without da_dz(outs[layer]), sigma'(z^l)
            nabla_w.insert(0, np.dot(outs[layer - 1].T, delta.T))
            nabla_b.insert(0, delta.T)
        return nabla_w, nabla_b
