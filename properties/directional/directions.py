"""The directions of the directional mode: how they are drawn, kept, and projected on.

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
O(n_out n_in): D a = u (v^T a), <G, D> = u^T G v.  On smaller tensors
directions stay dense: there the few random bits of u v^T would miss more
structured errors (two rows wrong by opposite amounts: u_i - u_j = 0 half the
time), and dense directions cost next to nothing.

Storage is by tensor: the directions on one tensor are stacked in a ``Group``
(the random ones in one group, drawn once per shapes and seed and kept; the one
along g in another), so that each tensor's directions take one product.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from gradcert.oracles.base import ABS_CHUNK_ENTRIES, abs_row_sums
from gradcert.oracles.rounding import gamma

UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
DISTRIBUTIONS = ("rademacher", "gaussian")
# A weight matrix of more entries than this gets rank-one random directions.
RANK_ONE_ABOVE = 2**16
# The random directions of the last few shapes and seeds are kept for the next check
# (``_random_groups``) when they have at most this many entries (8 MiB).
CACHED_ENTRIES = 2**20


@dataclass(frozen=True)
class Parameters:
    """biases and weights as two lists of arrays; a direction has the same shape, None off its support."""

    biases: list
    weights: list

    def tensors(self):
        """(name, layer, array or None) for nabla_b[0], nabla_w[0], nabla_b[1], ..."""
        for layer, (b, w) in enumerate(zip(self.biases, self.weights)):
            yield f"nabla_b[{layer}]", layer, b
            yield f"nabla_w[{layer}]", layer, w

    @property
    def tensors_list(self):
        """The arrays of ``tensors()`` in the same order."""
        return [t for _, _, t in self.tensors()]


@dataclass(frozen=True, eq=False)
class Group:
    """Some directions' entries on one tensor, stacked: row r belongs to direction
    ``owners[r]``.  Dense, ``dense`` of shape (rows, *shape); or rank-one, row r being
    ``us[r] vs[r]^T``.  ``tops[r]`` bounds |d_i| on row r; ``uniform``: every |d_i| is
    its row's top (Rademacher entries, signs of g)."""

    tensor: int
    owners: tuple
    tops: np.ndarray
    uniform: bool
    dense: np.ndarray | None = None
    us: np.ndarray | None = None
    vs: np.ndarray | None = None
    along_g: bool = False
    gradient: np.ndarray | None = None  # along g: the one row is tops[0] * sign(gradient)

    @property
    def rank_one(self):
        return self.us is not None

    def stack(self):
        """The rows as one dense array (rows, *shape); along g, formed on first use (a big
        tensor's is used only by ``times``, which forms it in pieces)."""
        if self.dense is None and self.gradient is not None:
            object.__setattr__(self, "dense", np.copysign(self.tops[0], self.gradient)[None])
        return self.dense

    def entries(self, r):
        """Row r as a dense array of the tensor's shape."""
        return np.multiply.outer(self.us[r], self.vs[r]) if self.rank_one else self.stack()[r]

    def times(self, a):
        """a D^T for every row's D and one input a (m, n_in): shape (rows, m, n_out)."""
        if self.rank_one:
            return (a @ self.vs.T).T[:, :, None] * self.us[:, None, :]
        if self.dense is None:  # along g: scale sign(g) a^T, sign(g) formed a block of rows at a time
            g, rows = self.gradient, max(1, ABS_CHUNK_ENTRIES // self.gradient.shape[1])
            out = np.concatenate([np.copysign(self.tops[0], g[r:r + rows]) @ a.T
                                  for r in range(0, g.shape[0], rows)])
            return out.T[None]
        count, n_out, n_in = self.dense.shape
        products = (self.dense.reshape(count * n_out, n_in) @ a.T).reshape(count, n_out, -1)
        return np.swapaxes(products, 1, 2)

    def times_each(self, rows, a):
        """a[j] D_{rows[j]}^T for inputs of their own, a of shape (len(rows), steps, m, n_in)."""
        if self.rank_one:
            return (a @ self.vs[rows][:, None, :, None]) * self.us[rows][:, None, None, :]
        return a @ np.swapaxes(self.stack()[rows], 1, 2)[:, None]

    def decay_terms(self, w):
        """Per row, <W, D> and sum D^2: what a step along D does to (l2 / 2) ||W||^2."""
        if self.rank_one:
            return (np.einsum("ki,ij,kj->k", self.us, w, self.vs),
                    np.einsum("ki,ki->k", self.us, self.us) * np.einsum("kj,kj->k", self.vs, self.vs))
        dense = self.stack()
        return np.einsum("kij,ij->k", dense, w), np.einsum("kij,kij->k", dense, dense)


def _rank_one(shape):
    """Whether random directions on a tensor of this shape are rank-one."""
    return len(shape) == 2 and min(shape) > 1 and shape[0] * shape[1] > RANK_ONE_ABOVE


class Directions:
    """The directions of one check, by tensor (``groups[i]``, tensors in the order of
    ``Parameters.tensors``), with their labels ("global 0", "nabla_w[1]", "nabla_w[1] along g")."""

    def __init__(self, theta, count, seed, distribution, per_tensor, candidate, along_g=True):
        tensors = list(theta.tensors())
        self.shapes = [t.shape for _, _, t in tensors]
        self.labels = [f"global {k}" for k in range(count)]
        supports = [tuple(range(len(tensors)))] * count
        for i, (name, _, _) in enumerate(tensors):
            own = ([name] if per_tensor else []) + ([f"{name} along g"] if along_g else [])
            self.labels += own
            supports += [(i,)] * len(own)
        self.support = supports
        self.scales = [_scale(t, theta.weights[layer].shape[1]) for _, layer, t in tensors]
        randomised = [k for k, label in enumerate(self.labels) if not label.endswith(" along g")]
        on = tuple(tuple(k for k in randomised if i in supports[k]) for i in range(len(tensors)))
        key = (seed, distribution, tuple(self.shapes), tuple(self.scales), on)
        entries = sum(len(ks) * (sum(shape) if _rank_one(shape) else math.prod(shape))
                      for ks, shape in zip(on, self.shapes))
        drawn = _random_groups(*key) if entries <= CACHED_ENTRIES else _random_groups.__wrapped__(*key)
        self.groups = [list(groups) for groups in drawn]
        for k, label in enumerate(self.labels):
            if label.endswith(" along g"):
                # scale with the sign of each g_i (a zero's sign bit: +-0 are both the
                # right derivative there); a NaN's sign bit too: the random directions,
                # which a NaN makes fail, report it.
                i, scale = supports[k][0], self.scales[supports[k][0]]
                gradient = candidate.tensors_list[i]
                along = Group(i, (k,), np.array([scale]), True, along_g=True,
                              gradient=gradient.reshape(gradient.shape[0], -1))
                self.groups[i].append(along)
        self.first_layer = [min(support) // 2 for support in supports]

    def direction(self, k):
        """Direction k as dense arrays (None off its support)."""
        dense = [None] * len(self.shapes)
        for groups in self.groups:
            for group in groups:
                if k in group.owners:
                    dense[group.tensor] = group.entries(group.owners.index(k))
        return Parameters(dense[0::2], dense[1::2])

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

    def weighted(self, arrays):
        """sum_i |d_i| a_i for every direction, ``a`` non-negative arrays per tensor (zeros if None)."""
        out = np.zeros(len(self.labels))
        if arrays is None:
            return out.tolist()
        for a, groups in zip(arrays, self.groups):
            a = np.asarray(a, dtype=np.float64)
            for group in groups:
                owners = list(group.owners)
                if group.uniform:
                    out[owners] += group.tops * float(np.sum(a))
                elif not group.rank_one:
                    out[owners] += np.einsum("k...,...->k", np.abs(group.stack()), a)
                else:
                    out[owners] += np.einsum("ki,ij,kj->k", np.abs(group.us), a, np.abs(group.vs))
        return out.tolist()

    def spreads(self, bound):
        """sum_i |d_i| M_i for every direction (a bound's size: its own rounding is immaterial)."""
        out = np.zeros(len(self.labels))
        for i, groups in enumerate(self.groups):
            layer, weight = i // 2, i % 2 == 1
            total = bound.total_w(layer) if weight else float(np.sum(bound.magnitude_b[layer]))
            for group in groups:
                if group.uniform:
                    out[list(group.owners)] += group.tops * total
                    continue
                for r, k in enumerate(group.owners):
                    if not weight:
                        magnitude = bound.magnitude_b[layer]
                        out[k] += float(np.einsum("ij,ij->", np.abs(group.stack()[r]), magnitude))
                    elif not group.rank_one:
                        out[k] += bound.weighted_sum(layer, None, None, dense=np.abs(group.stack()[r]))
                    else:
                        out[k] += bound.weighted_sum(layer, np.abs(group.us[r]), np.abs(group.vs[r]))
        return out.tolist()


@functools.lru_cache(maxsize=4)
def _random_groups(seed, distribution, shapes, scales, on):
    """Per tensor, the random directions' ``Group`` (or none): every entry in one draw from
    one stream, tensor after tensor; ``on[i]`` lists the directions on tensor i.  A
    function of its arguments alone, so kept for the next check of the same shapes
    (read-only: nothing may change a kept direction)."""
    rng = np.random.default_rng(seed)
    sizes = [len(on[i]) * (sum(shape) if _rank_one(shape) else math.prod(shape))
             for i, shape in enumerate(shapes)]
    values = _draw(rng, distribution, sum(sizes))
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


def _draw(rng, distribution, size):
    """``size`` random entries: +-1 (one random bit each) or N(0, 1)."""
    if distribution == "gaussian":
        return rng.standard_normal(size)
    random_bytes = np.frombuffer(rng.bytes((size + 7) // 8), dtype=np.uint8)
    return np.take(_SIGNS_OF_BYTE, random_bytes, axis=0).reshape(-1)[:size]


# Row b: the 8 entries +-1 that byte b stands for (bit 0 -> +1, bit 1 -> -1), so that a
# Rademacher draw is one lookup per random byte.
_SIGNS_OF_BYTE = 1.0 - 2.0 * np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)


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


def single(shapes, entries):
    """One dense direction (index 0) with the given entries on every tensor: the noise probe's."""
    directions = Directions.__new__(Directions)
    directions.shapes, directions.labels = list(shapes), ["probe"]
    directions.support = [tuple(range(len(shapes)))]
    directions.first_layer = [0]
    directions.groups = [[Group(i, (0,), np.array([float(np.max(np.abs(e)))]), False, dense=e[None])]
                         for i, e in enumerate(entries)]
    return directions
