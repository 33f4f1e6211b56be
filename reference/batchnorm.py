"""Batch normalisation of a layer's weighted input, and its backward step.

Each unit's z is normalised over the columns of the batch:

    u = (z - mean(z)) / sqrt(var(z) + BN_EPSILON)

with no learned scale or shift.  Because the mean and variance depend on
every example, the cost of a batch is no longer a sum of per-example costs,
each of its own example: this is the feature that breaks Nielsen's first
assumption (seed 000).  The textbook's per-example gradient follows each
example's own path (the Jacobian's diagonal over the batch); the repair is
the mean's and the variance's terms through the other examples.
"""

from gradcert.reference.architecture import BN_EPSILON
from gradcert.reference.normalisation import Normalisation
from gradcert.reference.textbook import SEPARABLE


class BatchNorm(Normalisation):
    name = "batch_norm"
    assumption = SEPARABLE
    axis = 1  # the examples of the batch
    others = "examples"
    epsilon = BN_EPSILON
