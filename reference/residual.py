"""A residual connection: a layer's input added to its output (He et al., 2016).

    a^{l+1} = sigma(z^{l+1}) + a^l        (a^l and a^{l+1} of equal width)

a^l then feeds the cost along two paths, through layer l+1 and around it, so
BP2's dC/da^l has two terms: (w^{l+1})^T delta^{l+1}, and dC/da^{l+1} itself,
carried down the skip unchanged.  The textbook's layered chain sees the first
only; the skip's term is its repair.
"""


REPAIR = "the skip's term: dC/da^{l+1}, added unchanged to dC/da^l"


def forward(arch, layer, out, a):
    """Layer ``layer``'s output with its input added, if it has a residual connection."""
    return out + a if layer in arch.residual else out


def skip(arch, layer, upstream):
    """The skip's share of dC/da^l (layer ``layer``'s input): dC/da^{l+1}, or None."""
    return upstream if layer in arch.residual else None
