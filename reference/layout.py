"""Nielsen's layout, checked: what a network's parameters and batches must look like.

``weights[l]`` is ``(n_out, n_in)`` (a maxout layer has a row per piece),
``biases[l]`` is ``(n_out, 1)``, and a batch is a matrix whose columns are the
examples.  The network's arithmetic is in network.py; this is only the checking.
"""

import numpy as np


class Layout:
    """weights and biases are settable, as in network.py; each assignment is
    checked against the architecture (``self.arch``) and copied, so the caller's
    arrays are never modified by a later update."""

    @property
    def weights(self):
        return self._weights

    @weights.setter
    def weights(self, value):
        self._weights = self._checked(value, [w for w, _ in self.arch.shapes], "weights")

    @property
    def biases(self):
        return self._biases

    @biases.setter
    def biases(self, value):
        self._biases = self._checked(value, [b for _, b in self.arch.shapes], "biases")

    def _columns(self, v, name, layer):
        """v as a float matrix whose columns are examples; a 1-D vector is one column."""
        v = np.asarray(v, dtype=float)
        v = v.reshape(-1, 1) if v.ndim == 1 else v
        n = self.sizes[layer]
        if v.ndim != 2 or v.shape[0] != n:
            raise ValueError(f"{name} has shape {v.shape}; expected ({n}, m): one column per example")
        return v

    @staticmethod
    def _checked(arrays, shapes, name):
        arrays = list(arrays)
        if len(arrays) != len(shapes):
            raise ValueError(f"{len(arrays)} {name} given for {len(shapes)} layers")
        out = []
        for i, (a, shape) in enumerate(zip(arrays, shapes)):
            a = np.array(a, dtype=float)
            if a.shape != shape:
                raise ValueError(f"{name}[{i}] has shape {a.shape}; expected {shape} (Nielsen's layout)")
            out.append(a)
        return out
