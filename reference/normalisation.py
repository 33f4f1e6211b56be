"""Normalisation of a layer's weighted input along one axis, and its backward forms.

Along ``axis`` (the batch's examples for batch normalisation, a column's
units for layer normalisation), with n entries,

    u = (z - mean(z)) / sqrt(var(z) + epsilon)

with no learned scale or shift.  Every u depends on every z along the axis,
through the mean and the variance, so the Jacobian is full:

    du_i/dz_k = inv_std * (delta_ik - 1/n - u_i u_k / n).

Its diagonal is each entry's own path; the rest, the mean's and the
variance's terms through the *other* entries, is what a form that treats the
entries as independent leaves out.
"""

import numpy as np
from gradcert.reference.textbook import Step


class Normalisation(Step):
    """The normalisation step; subclasses fix ``axis``, ``epsilon`` and the assumption it breaks."""

    axis = None
    epsilon = None
    others = None  # what the axis runs over, for ``formula``

    @property
    def formula(self):
        return (f"the mean's and the variance's terms through the other {self.others}: "
                "-(inv_std / n) (sum_{k != i} g_k + u_i sum_{k != i} u_k g_k)")

    def forward(self, z):
        """u, and what the backward step needs: (u, inverse standard deviation)."""
        centred = z - z.mean(axis=self.axis, keepdims=True)
        inv_std = 1.0 / np.sqrt(np.mean(centred**2, axis=self.axis, keepdims=True) + self.epsilon)
        u = centred * inv_std
        return u, (u, inv_std)

    def vjp(self, cache, g):
        """dC/dz from g = dC/du: inv_std * (g - mean(g) - u * mean(g * u))."""
        u, inv_std = cache
        mean = np.mean(g, axis=self.axis, keepdims=True)
        return inv_std * (g - mean - u * np.mean(g * u, axis=self.axis, keepdims=True))

    def textbook(self, cache, g):
        """Each entry through its own path only: the Jacobian's diagonal times g."""
        u, inv_std = cache
        n = u.shape[self.axis]
        return inv_std * (1.0 - 1.0 / n - u * u / n) * g

    def repair(self, cache, g):
        """The mean's and the variance's terms through the other entries:
        -(inv_std / n) * (sum_{k != i} g_k + u_i sum_{k != i} u_k g_k)."""
        u, inv_std = cache
        n = u.shape[self.axis]
        others = np.sum(g, axis=self.axis, keepdims=True) - g
        others_u = np.sum(u * g, axis=self.axis, keepdims=True) - u * g
        return -(inv_std / n) * (others + u * others_u)
