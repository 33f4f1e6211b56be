"""ReLU backward passes the gradient where x < 0 instead of where x > 0.

Mutant of ReLULayerZero in tests/zoo/correct/layers_correct.py.
"""

import numpy as np


class ReLULayerZero:
    def forward(self, x):
        self.x = np.array(x, dtype=float)
        return np.maximum(self.x, 0.0)

    def backward(self, dout):
        return dout * (self.x < 0)
