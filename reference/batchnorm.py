"""Batch normalisation of a layer's weighted input, and its backward step.

Each unit's z is normalised over the columns of the batch:

    u = (z - mean(z)) / sqrt(var(z) + BN_EPSILON)

with no learned scale or shift.  Because the mean and variance depend on
every example, the cost of a batch is no longer a sum of per-example costs:
this is the feature that breaks Nielsen's first assumption (seed 000).
"""

import numpy as np


def normalise(z, epsilon):
    """Return u and what the backward step needs: (u, inverse standard deviation)."""
    centred = z - z.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.mean(centred**2, axis=1, keepdims=True) + epsilon)
    return centred * inv_std, inv_std


def normalise_vjp(g, u, inv_std):
    """dC/dz from g = dC/du.

    Differentiating u through the mean and the variance gives, per unit,
        dC/dz = inv_std * (g - mean(g) - u * mean(g * u)),
    the two mean terms being the coupling between the examples of a batch.
    """
    return inv_std * (g - g.mean(axis=1, keepdims=True) - u * np.mean(g * u, axis=1, keepdims=True))
