"""Weight tying: one matrix used by two layers of the same shape.

With ``tied = (source, user)`` layer ``user`` computes with ``weights[source]``
and ``weights[user]`` is not used.  The cost then depends on the shared
matrix through both layers, and its gradient is the sum over its uses:

    dC/dw^source = delta^source (a^source)^T + delta^user (a^user)^T,

while dC/dw^user = 0.  The textbook's BP4, dC/dw^l = delta^l (a^{l-1})^T, counts
each layer's own use only, as if every weight were used once; the repair
moves the user's term to the matrix it really used.
"""

from gradcert.reference.textbook import SINGLE_USE

REPAIR = "delta^user (a^user)^T, moved from the idle slot to the tied matrix: the sum over its uses"


def add_use(arch, nabla_w, layer, term, assumed=(), record=None):
    """Add one use's BP4 term, delta^l (a^{l-1})^T, to the gradient of the matrix it used
    (``nabla_w`` holds None for a matrix no use has reached yet)."""
    source = arch.weight_of(layer)
    if source == layer or SINGLE_USE not in assumed:
        nabla_w[source] = _plus(nabla_w[source], term)
        return
    nabla_w[layer] = _plus(nabla_w[layer], term)  # the textbook: the layer's own slot
    if record is not None and record.repair:  # the repair: the term moves to the matrix really used
        nabla_w[layer] = nabla_w[layer] + record.add(layer, f"nabla_w[{layer}]", REPAIR, -term)
        nabla_w[source] = _plus(nabla_w[source], record.add(layer, f"nabla_w[{source}]", REPAIR, term))


def _plus(total, term):
    return term if total is None else total + term
