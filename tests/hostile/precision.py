"""Correct networks that compute in a precision other than float64 (all must be certified,
each judged at the precision it computes in).

* ``Float32WeightsSetter`` -- a ``weights`` property that stores float32 copies:
  the gradient is right for the weights it holds, not for the float64 ones it was
  handed.
* ``Float32Backprop`` -- backprop in float32 throughout (returns float32 arrays);
  update_mini_batch accumulates them in float64, as network.py's np.zeros do.
* ``Float16Gradient`` -- float64 arithmetic, the gradient returned as float16.
* ``LongdoubleGradient`` -- backprop in np.longdouble, returned as such.
"""

import numpy as np

from . import _base


class Float32WeightsSetter(_base.Network):
    @property
    def weights(self):
        return self._weights

    @weights.setter
    def weights(self, value):
        self._weights = [np.asarray(w, dtype=np.float32) for w in value]


def _in(dtype, arrays):
    return [np.asarray(a, dtype=dtype) for a in arrays]


class Float32Backprop(_base.Network):
    def backprop(self, x, y):
        f = np.float32
        return _base.gradient(_in(f, self.weights), _in(f, self.biases), x.astype(f), y.astype(f))


class Float16Gradient(_base.Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return [b.astype(np.float16) for b in nabla_b], [w.astype(np.float16) for w in nabla_w]


class LongdoubleGradient(_base.Network):
    def backprop(self, x, y):
        f = np.longdouble
        return _base.gradient(_in(f, self.weights), _in(f, self.biases), x.astype(f), y.astype(f))
