"""The directions of the directional mode: how they are drawn, and the candidate's projections on them.

Random entries are mixed-sign Rademacher (+-1) or Gaussian, never all of one
sign; every direction is scaled per tensor by a power of two near the size of
that tensor's entries, so that a step along d moves every layer's weighted
inputs alike (and Rademacher products g_i d_i are exact).

``count`` global random directions lie on every tensor; with ``per_tensor``, one
more on each single tensor (nabla_b[0], nabla_w[0], ...), random too; with
``along_g``, one on each tensor along the signs of the candidate's own gradient
there ("nabla_w[0] along g").
Why the second: the commonest bugs scale a whole tensor (a lost 1/m, a factor, an
error of 1e-3 in every entry), an error e = c g.  Against random signs its
projection grows like sqrt(n) times one entry while the rounding tolerance grows
like n; along sign(g) it is c sum |g_i|, which grows like n too, so a small
relative error in a big tensor stays visible.

On a weight matrix of more than RANK_ONE_ABOVE entries a random direction is
rank-one, D = u v^T with u and v random: its entries are still +-scale, its
projection of an error E has the same mean square, E (u^T E v)^2 = ||E||_F^2,
as a dense direction's, and it costs O(n_out + n_in) where a dense one costs
O(n_out n_in): D a = u (v^T a), <G, D> = u^T G v.  What rank-one loses -- errors
confined to a few rows can cancel in u (two rows wrong by opposite amounts:
u_i - u_j = 0 half the time) -- the unit directions of those layers see
(``UnitDirections``: one per row); smaller tensors keep dense directions, which
cost next to nothing there.

Storage is by tensor (``oracles.tangents``, the form every oracle's ``slopes``
takes): the directions on one tensor are stacked in a ``Group`` (the random
ones in one group, drawn once per shapes and seed and kept; the one along g in
another), so that each tensor's directions take one product.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from gradcert.oracles.base import abs_row_sums
from gradcert.oracles.precision import UNIT_ROUNDOFF, gamma
from gradcert.oracles.tangents import Group, Parameters, Tangents, draw

__all__ = ["DISTRIBUTIONS", "Directions", "Group", "Parameters", "RANK_ONE_ABOVE", "UnitDirections"]

DISTRIBUTIONS = ("rademacher", "gaussian")
# A weight matrix of more entries than this gets rank-one random directions.
RANK_ONE_ABOVE = 2**12
# The random directions of the last few shapes and seeds are kept for the next check
# (``_random_groups``) when they have at most this many entries (8 MiB).
CACHED_ENTRIES = 2**20


def _rank_one(shape):
    """Whether random directions on a tensor of this shape are rank-one."""
    return len(shape) == 2 and min(shape) > 1 and shape[0] * shape[1] > RANK_ONE_ABOVE


class Directions(Tangents):
    """The directions of one check, by tensor (``groups[i]``, tensors in the order of
    ``Parameters.tensors``), with their labels ("global 0", "nabla_w[1]", "nabla_w[1] along g")."""

    def __init__(self, theta, count, seed, distribution, per_tensor, candidate, along_g=True):
        tensors = list(theta.tensors())
        shapes = [t.shape for _, _, t in tensors]
        labels = [f"global {k}" for k in range(count)]
        supports = [tuple(range(len(tensors)))] * count
        for i, (name, _, _) in enumerate(tensors):
            own = ([name] if per_tensor else []) + ([f"{name} along g"] if along_g else [])
            labels += own
            supports += [(i,)] * len(own)
        self.scales = [_scale(t, theta.weights[layer].shape[1]) for _, layer, t in tensors]
        randomised = [k for k, label in enumerate(labels) if not label.endswith(" along g")]
        on = tuple(tuple(k for k in randomised if i in supports[k]) for i in range(len(tensors)))
        key = (seed, distribution, tuple(shapes), tuple(self.scales), on)
        entries = sum(len(ks) * (sum(shape) if _rank_one(shape) else math.prod(shape))
                      for ks, shape in zip(on, shapes))
        drawn = _random_groups(*key) if entries <= CACHED_ENTRIES else _random_groups.__wrapped__(*key)
        groups = [list(group) for group in drawn]
        for k, label in enumerate(labels):
            if label.endswith(" along g"):
                # scale with the sign of each g_i (a zero's sign bit: +-0 are both the
                # right derivative there); a NaN's sign bit too: the random directions,
                # which a NaN makes fail, report it.
                i, scale = supports[k][0], self.scales[supports[k][0]]
                gradient = candidate.tensors_list[i]
                groups[i].append(Group(i, (k,), np.array([scale]), True,
                                       gradient=gradient.reshape(gradient.shape[0], -1)))
        super().__init__(shapes, labels, supports, groups)

    def candidate_dots(self, g):
        """(<g, d>, a bound on its rounding) for every direction d.

        Each tensor's products are summed row by row (at most n_in terms, in any order:
        gamma_{n_in + 1} times sum |g_i d_i| <= ||g||_1 max |d_i|, the +1 for the product
        itself), then a direction's R row sums together (gamma_R times the sum of their
        magnitudes), so the bound does not grow with the number of parameters, only
        with the widest layer and the number of units.  Along sign(g), g_i d_i = |g_i|
        scale: the row sums of |g| that ||g||_1 needs anyway.
        """
        width = sum(shape[0] for shape in self.shapes)  # R: every tensor's rows side by side
        row_sums = np.zeros((len(self.labels), width))
        errors = np.zeros(len(self.labels))
        start = 0
        for gt, groups in zip(g.tensors_list, self.groups):
            matrix = gt.reshape(gt.shape[0], -1)
            span = slice(start, start + matrix.shape[0])
            start += matrix.shape[0]
            if not groups:
                continue
            absolute_rows = abs_row_sums(matrix)
            unit = gamma(matrix.shape[1] + 1) * float(absolute_rows.sum())
            for group in groups:
                owners = list(group.owners)
                if group.along_g:
                    row_sums[owners, span] = absolute_rows * group.tops[0]
                elif not group.rank_one:
                    block = group.stack().reshape(len(owners), *matrix.shape)
                    row_sums[owners, span] = np.einsum("kij,ij->ki", block, matrix)
                else:
                    row_sums[owners, span] = (matrix @ group.vs.T).T * group.us
                errors[owners] += unit * group.tops
        values = row_sums.sum(axis=1)
        errors += gamma(width) * np.abs(row_sums).sum(axis=1) + UNIT_ROUNDOFF * np.abs(values)
        return list(zip(values.tolist(), errors.tolist()))


@functools.lru_cache(maxsize=4)
def _random_groups(seed, distribution, shapes, scales, on):
    """Per tensor, the random directions' ``Group`` (or none): every entry in one draw from
    one stream, tensor after tensor; ``on[i]`` lists the directions on tensor i.  A
    function of its arguments alone, so kept for the next check of the same shapes
    (read-only: nothing may change a kept direction)."""
    rng = np.random.default_rng(seed)
    sizes = [len(on[i]) * (sum(shape) if _rank_one(shape) else math.prod(shape))
             for i, shape in enumerate(shapes)]
    values = draw(rng, distribution, sum(sizes))
    signs = {k: [] for ks in on for k in ks}  # k -> [(tensor, sign of its entries)]
    blocks, start = {}, 0
    for i, shape in enumerate(shapes):
        run, count, start = values[start:start + sizes[i]], len(on[i]), start + sizes[i]
        if not count:
            continue
        if _rank_one(shape):
            us = run[:count * shape[0]].reshape(count, shape[0])
            vs = run[count * shape[0]:].reshape(count, shape[1])
            us *= scales[i]  # a power of two: exact
            blocks[i] = (us, vs)
            row_signs = _row_signs(us) * _row_signs(vs)
        else:
            block = run.reshape(count, *shape)
            block *= scales[i]
            blocks[i] = (block, None)
            row_signs = _row_signs(block)
        for k, sign in zip(on[i], row_signs):
            signs[k].append((i, sign))
    for k, tensor_signs in signs.items():  # a direction all of one sign gets one entry flipped
        entries = sum(math.prod(shapes[i]) for i, _ in tensor_signs)
        kinds = {sign for _, sign in tensor_signs}
        if entries >= 2 and len(kinds) == 1 and 0 not in kinds:
            i = tensor_signs[int(rng.integers(len(tensor_signs)))][0]
            row = blocks[i][0][on[i].index(k)].reshape(-1)  # a dense part, or u: a row of u v^T
            row[int(rng.integers(row.size))] *= -1.0
    values.flags.writeable = False
    rademacher = distribution == "rademacher"
    groups = [() for _ in shapes]
    for i, (first, second) in blocks.items():
        if rademacher:
            tops = np.full(len(on[i]), scales[i])
        elif second is None:
            tops = np.abs(first).reshape(len(on[i]), -1).max(axis=1)
        else:
            tops = np.abs(first).max(axis=1) * np.abs(second).max(axis=1)
        groups[i] = (Group(i, on[i], tops, rademacher, dense=first) if second is None
                     else Group(i, on[i], tops, rademacher, us=first, vs=second),)
    return tuple(groups)


def _scale(tensor, fan_in):
    """A power of two near the root-mean-square of a tensor's entries (at least 1/sqrt(fan_in),
    the size a weight needs to move a weighted input by order one)."""
    flat = tensor.reshape(-1)
    rms = math.sqrt(float(flat @ flat) / flat.size) if flat.size else 0.0
    return 2.0 ** round(math.log2(max(rms, 1.0 / math.sqrt(fan_in))))


def _row_signs(block):
    """Per row of ``block``: +1 if every entry is positive, -1 if every entry is negative, else 0."""
    flat = block.reshape(block.shape[0], -1)
    return np.where(flat.min(axis=1) > 0, 1, np.where(flat.max(axis=1) < 0, -1, 0))


class UnitDirections:
    """One direction per unit of each layer: for unit i of layer l, random signs times the
    weights' scale on row i of W_l and one sign times the biases' scale on b_l[i], zero
    elsewhere (``signs_w[l]`` (n_out, n_in), ``signs_b[l]`` (n_out,)).

    Why: a projection over n entries is as blind to one wrong entry as its tolerance is wide,
    and a unit's direction spans only its n_in + 1 entries; better, a correct candidate's
    error in row i is mostly its error in dC/dz_i carried by the layer's input a, so along
    the unit's direction it projects through the unit's exact tangent v_i . a + beta_i
    (``tolerances.unit_shares``), with no sqrt(n) at all.  The oracle's side costs one
    probe of the unit (``oracles.complex_step.unit_slopes``), the candidate's one pass over
    the tensor.  Drawn once per shapes, scales and seed and kept (read-only).

    ``layers`` are the layers that get them: every one (``every=True``), or those whose
    weight matrix has more than RANK_ONE_ABOVE entries, where the random directions are
    rank-one and a per-tensor projection dilutes one entry by sqrt(n) > 64; a smaller
    tensor's own direction sees a single entry well enough.  Never the layers of ``skip``: a
    tied pair, whose shared matrix's row moves two layers' units at once (and whose idle slot
    moves nothing), so that neither the oracle's one-unit probe nor the unit share applies."""

    def __init__(self, theta, seed, scales, every=False, skip=()):
        shapes = tuple(w.shape for w in theta.weights)
        self.layers = [layer for layer, shape in enumerate(shapes)
                       if (every or math.prod(shape) > RANK_ONE_ABOVE) and layer not in skip]
        self.signs_w, self.signs_b = _unit_signs(seed, shapes, tuple(scales), tuple(self.layers))
        self.scales = list(scales)

    def candidate_dots(self, g):
        """Per layer of ``layers``: (<g, d_i> for every unit i, a bound on each one's rounding): n_in + 1
        exact products (+-s times g) summed in any order, gamma_{n_in + 2} times their magnitudes."""
        out = []
        for layer in self.layers:
            signs_w, signs_b = self.signs_w[layer], self.signs_b[layer]
            gw, gb = g.weights[layer], g.biases[layer].reshape(-1)
            values = np.einsum("ij,ij->i", gw, signs_w) + gb * signs_b
            scale_w, scale_b = self.scales[2 * layer + 1], self.scales[2 * layer]
            errors = gamma(gw.shape[1] + 2) * (scale_w * abs_row_sums(gw) + scale_b * np.abs(gb))
            out.append((values, errors))
        return out


@functools.lru_cache(maxsize=4)
def _unit_signs(seed, shapes, scales, layers):
    """The signs of ``UnitDirections`` on ``layers``, scaled (None on the others): one stream per
    seed (apart from the other directions' stream), layer after layer."""
    rng = np.random.default_rng((seed, 0x756E697473))  # "units"
    signs_w, signs_b = [], []
    for layer, (n_out, n_in) in enumerate(shapes):
        if layer not in layers:
            signs_w.append(None)
            signs_b.append(None)
            continue
        w = draw(rng, "rademacher", n_out * n_in).reshape(n_out, n_in) * scales[2 * layer + 1]
        b = draw(rng, "rademacher", n_out) * scales[2 * layer]
        w.flags.writeable = b.flags.writeable = False
        signs_w.append(w)
        signs_b.append(b)
    return tuple(signs_w), tuple(signs_b)
