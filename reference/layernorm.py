"""Layer normalisation: each example's units normalised together.

    u = (z - mean over the units) / sqrt(var over the units + LN_EPSILON)

for each column, with no learned scale or shift.  Every u_j depends on every
z_k of its layer, so z_j no longer influences a_j alone: the textbook's
delta = g * sigma'(z), with the normalisation's diagonal for its sigma',
misses the mean's and the variance's terms through the other units.
"""

from gradcert.reference.architecture import LN_EPSILON
from gradcert.reference.normalisation import Normalisation
from gradcert.reference.textbook import ELEMENTWISE


class LayerNorm(Normalisation):
    name = "layer_norm"
    assumption = ELEMENTWISE
    axis = 0  # the units of each example
    others = "units"
    epsilon = LN_EPSILON
