"""``gradcert assumptions --plot FILE``: the map as a picture.

One panel per feature (the columns grouped by feature), each a small heatmap:
rows are the assumptions, columns the activation/cost pairs.  The colour is
log10 of the largest relative error seen, from the unit roundoff (what a
correct shortcut shows) to a decade above the largest finite error, so a break
of 0.5 and one of 1e3 stay apart from each other and from 1; an unbounded error
(the shortcut nonzero where the true gradient and all its terms are exactly 0)
has a colour of its own beyond the scale.  An X marks every break.
"""

from __future__ import annotations

import math

import numpy as np

ABBREVIATIONS = {"linear": "lin", "sigmoid": "sigm", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky",
                 "softplus": "splus", "softmax": "smax", "quadratic": "quad", "cross-entropy": "CE",
                 "log-likelihood": "LL"}
PANELS_PER_ROW = 5
UNBOUNDED_COLOUR = "#d62728"  # beyond the scale: an infinite relative error


def plot(records, path):
    """Draw ``records`` (``assumption_map``'s) to ``path``; the format follows its extension."""
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.pyplot import get_cmap

    names = list(dict.fromkeys(r["assumption"] for r in records))
    features = list(dict.fromkeys(r["feature"] for r in records))
    pairs = list(dict.fromkeys((r["activation"], r["cost"]) for r in records))
    floor = math.log10(np.finfo(float).eps / 2)  # the unit roundoff: nothing smaller is meaningful
    finite = [r["max_rel_error"] for r in records if r["max_rel_error"] is not None]
    top = max(1.0, math.ceil(math.log10(max(max(finite, default=1.0), 10.0**floor))) + 1.0)
    colours = get_cmap("viridis").with_extremes(over=UNBOUNDED_COLOUR)
    norm = Normalize(vmin=floor, vmax=top)

    rows = math.ceil(len(features) / PANELS_PER_ROW)
    size = (3.4 * min(len(features), PANELS_PER_ROW) + 2.8, 3.6 * rows + 1.2)
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(rows, min(len(features), PANELS_PER_ROW), squeeze=False)
    image = None
    for k, feature in enumerate(features):
        ax = axes[k // PANELS_PER_ROW][k % PANELS_PER_ROW]
        grid = np.full((len(names), len(pairs)), np.nan)
        for r in records:
            if r["feature"] != feature:
                continue
            i, j = names.index(r["assumption"]), pairs.index((r["activation"], r["cost"]))
            error = r["max_rel_error"]
            grid[i, j] = top + 1.0 if error is None else math.log10(max(error, 10.0**floor))
            if not r["holds"]:
                ax.text(j, i, "X", ha="center", va="center", color="white", fontsize=10, fontweight="bold")
        image = ax.imshow(grid, cmap=colours, norm=norm, aspect="auto")
        ax.set_title(feature, fontsize=11)
        ax.set_xticks(range(len(pairs)), labels=[f"{ABBREVIATIONS.get(a, a)}/{ABBREVIATIONS.get(c, c)}"
                                                  for a, c in pairs], rotation=90, fontsize=8)
        ax.set_yticks(range(len(names)), labels=names if k % PANELS_PER_ROW == 0 else [], fontsize=9)
    for k in range(len(features), rows * PANELS_PER_ROW):
        axes[k // PANELS_PER_ROW][k % PANELS_PER_ROW].set_visible(False)
    fig.suptitle("Where backpropagation's textbook assumptions hold (X: a counterexample was found)",
                 fontsize=13)
    bar = fig.colorbar(image, ax=axes, extend="max", fraction=0.02)
    bar.set_label(f"log10 largest relative error (red beyond {top:g}: unbounded)", fontsize=9)
    fig.savefig(path, dpi=100)
