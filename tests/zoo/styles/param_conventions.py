"""Dense layers that keep their parameters where gradcert must be told, or cannot look.

* ``PrivateDense`` -- private attributes ``_w``/``_b`` with ``_dw``/``_db``.
* ``KernelDense`` -- ``kernel``/``bias`` with ``kernel_grad``/``bias_grad``: found
  only through an explicit mapping, ``params="kernel:kernel_grad,bias:bias_grad"``.
* ``AdjointAffine`` -- y = A x + c in the adjoint ("bar") notation of
  reverse-mode differentiation: the gradients are ``A_bar`` and ``c_bar``
  (``params="A:A_bar,c:c_bar"``).  Column-major: x is (n_in, N).
* ``TapeDense`` -- holds float parameters ``W`` and ``b`` but hands their
  gradients to a module-level tape keyed by the layer's id, where nobody
  inspecting the layer can find them.  gradcert must refuse it (exit 2,
  naming W and b) rather than certify its dx alone.

All but AdjointAffine take row-major batches (N, n_in).
"""

import numpy as np


class PrivateDense:
    def __init__(self, n_in, n_out):
        self._w = np.random.randn(n_in, n_out) * np.sqrt(1.0 / n_in)
        self._b = np.random.randn(n_out) * 0.1
        self._dw = np.zeros_like(self._w)
        self._db = np.zeros_like(self._b)

    def forward(self, x):
        self._x = x
        return x @ self._w + self._b

    def backward(self, dout):
        self._dw = self._x.T @ dout
        self._db = dout.sum(axis=0)
        return dout @ self._w.T


class KernelDense:
    def __init__(self, in_features, out_features):
        self.kernel = np.random.randn(in_features, out_features) / np.sqrt(in_features)
        self.bias = np.full(out_features, 0.05)
        self.kernel_grad = None
        self.bias_grad = None

    def forward(self, x):
        self.last_input = x
        return np.matmul(x, self.kernel) + self.bias

    def backward(self, grad):
        self.kernel_grad = np.matmul(self.last_input.T, grad)
        self.bias_grad = np.sum(grad, axis=0)
        return np.matmul(grad, self.kernel.T)


class AdjointAffine:
    def __init__(self, n_in, n_out):
        self.A = np.random.randn(n_out, n_in)
        self.c = np.random.randn(n_out, 1)

    def forward(self, x):
        self.x = x
        return self.A @ x + self.c

    def backward(self, y_bar):
        """Given y_bar = dL/dy, set A_bar, c_bar and return x_bar."""
        self.A_bar = y_bar @ self.x.T
        self.c_bar = y_bar.sum(axis=1, keepdims=True)
        return self.A.T @ y_bar


GRADIENT_TAPE = {}


class TapeDense:
    def __init__(self, n_in, n_out):
        self.W = np.random.randn(n_in, n_out) / np.sqrt(n_in)
        self.b = np.zeros(n_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        GRADIENT_TAPE[id(self)] = (self.x.T @ dout, dout.sum(axis=0))
        return dout @ self.W.T
