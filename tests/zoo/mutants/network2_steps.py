"""network2.py's Network with one bug in its L2-regularised step each.

The book's rule, with m = len(mini_batch) and n the size of the training set:
    w -> (1 - eta * lmbda / n) w - (eta / m) sum_x nabla_w C_x
    b -> b - (eta / m) sum_x nabla_b C_x
Each class overrides only ``update_mini_batch`` of the port in
tests/zoo/correct/nielsen_network2.py (the cost stays its default,
cross-entropy).  Every bug needs lmbda > 0 to show, and the last two need
n != 1 and n != m respectively.
"""

import numpy as np

from ..correct import nielsen_network2


class _Network2(nielsen_network2.Network):
    def _sums(self, mini_batch):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb+dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw+dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        return nabla_b, nabla_w


class DecaysBiases(_Network2):
    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        nabla_b, nabla_w = self._sums(mini_batch)
        self.weights = [(1-eta*(lmbda/n))*w-(eta/len(mini_batch))*nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [(1-eta*(lmbda/n))*b-(eta/len(mini_batch))*nb  # BUG: biases are decayed too
                       for b, nb in zip(self.biases, nabla_b)]


class DecayWithoutN(_Network2):
    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        nabla_b, nabla_w = self._sums(mini_batch)
        self.weights = [(1-eta*lmbda)*w-(eta/len(mini_batch))*nw  # BUG: lmbda where lmbda/n belongs
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b-(eta/len(mini_batch))*nb
                       for b, nb in zip(self.biases, nabla_b)]


class StepOverN(_Network2):
    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        nabla_b, nabla_w = self._sums(mini_batch)
        self.weights = [(1-eta*(lmbda/n))*w-(eta/n)*nw  # BUG: eta/n where eta/len(mini_batch) belongs
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b-(eta/n)*nb
                       for b, nb in zip(self.biases, nabla_b)]
