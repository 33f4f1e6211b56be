"""Softmax layers on row-major batches (N, D), softmax over each row.

``SoftmaxJacobian`` builds every row's Jacobian diag(s) - s s^T with einsum
and multiplies; ``SoftmaxShortcut`` uses J^T g = s * (g - <s, g>).  Both keep
``self.s`` from forward.
"""

import numpy as np


def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


class SoftmaxJacobian:
    def forward(self, x):
        self.s = softmax(x)
        return self.s

    def backward(self, dout):
        s = self.s
        jacobian = np.einsum("ni,ij->nij", s, np.eye(s.shape[1])) - np.einsum("ni,nj->nij", s, s)
        return np.einsum("nij,ni->nj", jacobian, dout)  # (J^T g)_j = sum_i J_ij g_i


class SoftmaxShortcut:
    def forward(self, x):
        self.s = softmax(x)
        return self.s

    def backward(self, dout):
        return self.s * (dout - np.sum(self.s * dout, axis=-1, keepdims=True))
