"""Directions in parameter space, as every oracle's ``slopes`` takes them.

A set of directions d (the directional mode's: ``properties.directional.directions``
draws them) is stored by tensor: the directions' entries on one weight or bias
tensor are stacked in a ``Group``, dense (rows, *shape) or rank-one (row r is
u_r v_r^T), so that each tensor's directions take one product.  ``Tangents``
holds the groups of every tensor, in the order nabla_b[0], nabla_w[0],
nabla_b[1], ... (``Parameters.tensors``), with a label and a support (the
tensors it lives on) per direction.

This module only stores and multiplies directions: the sums an oracle's error
needs (sum_i |d_i| a_i, and the rounding bound M summed along d) are here, the
candidate's projections <g, d> are the properties'.

Exact products.  A direction whose entries are all +-s on a tensor, s a power of
two (Rademacher entries, the signs of g: ``Group.uniform``), multiplies an input
a (``times``, ``times_each``) with almost no rounding: a is split as hi + lo
(``split``), hi on a grid so coarse that every partial sum of +-s hi_j is a
multiple of the grid below 2^53 of it -- exact in any order of summation, with
or without fused multiply-adds -- and lo = a - hi, exact, at most half the grid.
The product's error is then one rounding of hi + lo plus gamma_{n+1} s sum |lo|,
about n^3 u^2 max |a| s: a forward-mode tangent starts exact to a relative u.
Other entries (Gaussian directions) carry the usual gamma_{n+1} |D| |a|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from gradcert.oracles.base import ABS_CHUNK_ENTRIES
from gradcert.oracles.precision import UNIT_ROUNDOFF, gamma

TANGENT_BUDGET_BYTES = 256 * 2**20  # the dense tangents of the directions one chunk stacks


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
    ``us[r] vs[r]^T``; or one row ``tops[0] * sign(gradient)`` (``gradient`` given: the
    direction along a candidate's gradient, formed in pieces where it is used).
    ``tops[r]`` bounds |d_i| on row r; ``uniform``: every |d_i| is its row's top
    (Rademacher entries, signs of g)."""

    tensor: int
    owners: tuple
    tops: np.ndarray
    uniform: bool
    dense: np.ndarray | None = None
    us: np.ndarray | None = None
    vs: np.ndarray | None = None
    gradient: np.ndarray | None = None  # along g: (n_out, -1), the row's signs

    @property
    def rank_one(self):
        return self.us is not None

    @property
    def along_g(self):
        return self.gradient is not None

    def stack(self):
        """The rows as one dense array (rows, *shape); along g, formed on first use (a big
        tensor's is used only by ``times``, which forms it in pieces)."""
        if self.dense is None and self.gradient is not None:
            object.__setattr__(self, "dense", np.copysign(self.tops[0], self.gradient)[None])
        return self.dense

    def entries(self, r):
        """Row r as a dense array of the tensor's shape."""
        return np.multiply.outer(self.us[r], self.vs[r]) if self.rank_one else self.stack()[r]

    def times(self, a, exact=True):
        """a D^T for every row's D and one input a (m, n_in): (product (rows, m, n_out), a bound on
        its rounding error, broadcastable to it; see the module docstring).  ``exact=False``: the
        plain product, as another implementation of forward mode would form it."""
        n_in = a.shape[-1]
        hi, lo = split(a, n_in) if self.uniform and exact else (None, None)
        if self.rank_one:
            if hi is None:
                av = a @ self.vs.T
                error = gamma(n_in + 1) * (np.abs(a) @ np.abs(self.vs).T)
            else:
                both = np.concatenate([hi, lo]) @ self.vs.T
                av = both[:hi.shape[0]] + both[hi.shape[0]:]
                error = UNIT_ROUNDOFF * np.abs(av) + gamma(n_in + 1) * np.abs(lo).sum(axis=-1)[:, None]
            product = av.T[:, :, None] * self.us[:, None, :]
            return product, error.T[:, :, None] * np.abs(self.us)[:, None, :]
        if self.dense is None:  # along g: sign(g) formed a block of rows at a time
            product = self._along_g_times([a] if hi is None else [hi, lo])
            if hi is None:
                return product, gamma(n_in + 1) * self.tops[0] * np.abs(a).sum(axis=-1)[None, :, None]
        elif hi is None:
            product = self._dense_times(a)
            return product, gamma(n_in + 1) * self._dense_times(np.abs(a), np.abs(self.dense))
        else:  # hi and lo in one product: [hi; lo] D^T, then the halves added
            both = self._dense_times(np.concatenate([hi, lo]))
            product = both[:, :hi.shape[0]] + both[:, hi.shape[0]:]
        lost = gamma(n_in + 1) * np.abs(lo).sum(axis=-1)  # (m,)
        return product, UNIT_ROUNDOFF * np.abs(product) + self.tops[:, None, None] * lost[None, :, None]

    def _dense_times(self, a, dense=None):
        dense = self.dense if dense is None else dense
        count, n_out, n_in = dense.shape
        return np.swapaxes((dense.reshape(count * n_out, n_in) @ a.T).reshape(count, n_out, -1), 1, 2)

    def _along_g_times(self, parts):
        g, rows = self.gradient, max(1, ABS_CHUNK_ENTRIES // self.gradient.shape[1])
        out = sum(np.concatenate([np.copysign(self.tops[0], g[r:r + rows]) @ part.T
                                  for r in range(0, g.shape[0], rows)]) for part in parts)
        return out.T[None]

    def times_each(self, rows, a, exact=True, errors=True):
        """a[j] D_{rows[j]}^T for inputs of their own, a of shape (len(rows), steps, m, n_in):
        (product, a bound on its rounding error), as ``times``; without ``errors``, (product, None)."""
        n_in = a.shape[-1]
        hi, lo = split(a, n_in) if self.uniform and exact else (None, None)
        if self.rank_one:
            v = self.vs[rows][:, None, :, None]
            if not errors:
                return (a @ v) * self.us[rows][:, None, None, :], None
            if hi is None:
                av = a @ v
                error = gamma(n_in + 1) * (np.abs(a) @ np.abs(v))
            else:
                av = hi @ v + lo @ v
                error = UNIT_ROUNDOFF * np.abs(av) + gamma(n_in + 1) * np.abs(lo).sum(axis=-1, keepdims=True)
            us = self.us[rows][:, None, None, :]
            return av * us, error * np.abs(us)
        dense = np.swapaxes(self.stack()[rows], 1, 2)[:, None]
        if not errors:
            return a @ dense, None
        if hi is None:
            return a @ dense, gamma(n_in + 1) * (np.abs(a) @ np.abs(dense))
        product = hi @ dense + lo @ dense
        lost = gamma(n_in + 1) * np.abs(lo).sum(axis=-1, keepdims=True)
        return product, UNIT_ROUNDOFF * np.abs(product) + self.tops[rows][:, None, None, None] * lost

    def abs_times(self, e):
        """|D| e^T for every row's D and a non-negative e (m, n_in): (rows, m, n_out), what an error e in
        the input moves the product a D^T by (for the sign directions, |D| is the row's top everywhere)."""
        if self.rank_one:
            return (e @ np.abs(self.vs).T).T[:, :, None] * np.abs(self.us)[:, None, :]
        if self.dense is None:  # along g: every |d_i| is the top
            n_out = self.gradient.shape[0]
            return np.broadcast_to(self.tops[0] * e.sum(axis=-1)[None, :, None], (1, e.shape[0], n_out))
        return self._dense_times(e, np.abs(self.dense))

    def abs_decay(self, abs_w):
        """Per row, sum |D| |W|: the magnitude of the terms of <W, D>."""
        if self.rank_one:
            return np.einsum("ki,ij,kj->k", np.abs(self.us), abs_w, np.abs(self.vs))
        if self.dense is None:
            return self.tops * float(abs_w.sum())
        return np.einsum("kij,ij->k", np.abs(self.dense), abs_w)

    def decay_terms(self, w):
        """Per row, <W, D> and sum D^2: what a step along D does to (l2 / 2) ||W||^2."""
        if self.rank_one:
            return (np.einsum("ki,ij,kj->k", self.us, w, self.vs),
                    np.einsum("ki,ki->k", self.us, self.us) * np.einsum("kj,kj->k", self.vs, self.vs))
        dense = self.stack()
        return np.einsum("kij,ij->k", dense, w), np.einsum("kij,kij->k", dense, dense)


class Tangents:
    """Directions by tensor: ``groups[i]`` lists the groups on tensor i (``Parameters.tensors``
    order), ``labels[k]`` names direction k, ``support[k]`` the tensors it lives on."""

    def __init__(self, shapes, labels, support, groups):
        self.shapes, self.labels = list(shapes), list(labels)
        self.support = [tuple(s) for s in support]
        self.groups = [list(g) for g in groups]
        self.first_layer = [min(s) // 2 for s in self.support]  # the first layer each one reaches
        self._spreads = None  # (bound, spreads) of the last bound asked for

    @classmethod
    def dense(cls, shapes, entries, label="probe"):
        """One dense direction with the given entries (one array per tensor, every tensor)."""
        groups = [[Group(i, (0,), np.array([float(np.max(np.abs(e)))]), False, dense=np.asarray(e)[None])]
                  for i, e in enumerate(entries)]
        return cls(shapes, [label], [tuple(range(len(shapes)))], groups)

    def __len__(self):
        return len(self.labels)

    def direction(self, k):
        """Direction k as dense arrays (None off its support)."""
        dense = [None] * len(self.shapes)
        for groups in self.groups:
            for group in groups:
                if k in group.owners:
                    dense[group.tensor] = group.entries(group.owners.index(k))
        return Parameters(dense[0::2], dense[1::2])

    def dense_chunks(self, budget_bytes=TANGENT_BUDGET_BYTES):
        """The directions, densely, in chunks whose stacked tangents fit ``budget_bytes``: per
        chunk, (weight tangents, bias tangents), each of shape (directions, *tensor shape)."""
        n = sum(math.prod(shape) for shape in self.shapes)
        size = max(1, budget_bytes // (8 * n))
        for start in range(0, len(self.labels), size):
            ks = range(start, min(start + size, len(self.labels)))
            stacked = [np.zeros((len(ks), *shape)) for shape in self.shapes]
            for row, k in enumerate(ks):
                for i, entries in enumerate(self.direction(k).tensors_list):
                    if entries is not None:
                        stacked[i][row] = entries
            yield stacked[1::2], stacked[0::2]

    def weighted(self, arrays):
        """sum_i |d_i| a_i for every direction, ``a`` non-negative arrays per tensor (zeros if None)."""
        out = np.zeros(len(self.labels))
        if arrays is None:
            return out
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
        return out

    def spreads(self, bound):
        """sum_i |d_i| M_i for every direction, M the magnitudes of ``oracles.rounding``'s bound,
        from its factors (a bound's size: its own rounding is immaterial).  Kept for the last
        bound: a check's tolerances and its oracle's error both need them."""
        if self._spreads is not None and self._spreads[0] is bound:
            return self._spreads[1]
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
        out.flags.writeable = False
        self._spreads = (bound, out)
        return out


def split(a, n):
    """(hi, lo) with a = hi + lo exactly, hi on a grid 2^k >= n max|a| 2^-52 (every sum of n terms
    +-s hi_j, s a power of two, is then exact), |lo| <= 2^(k-1); (None, None) where the grid
    would underflow (a too small to split safely) or a is not finite."""
    top = float(np.max(np.abs(a), initial=0.0))
    if not np.isfinite(top) or top == 0.0:
        return (None, None) if not np.isfinite(top) else (a, np.zeros_like(a))
    grid = 2.0 ** (np.ceil(np.log2(top * n)) - 52)
    if grid < 2.0**-960:
        return None, None
    hi = np.round(a / grid) * grid  # a / grid and the product are exact: grid is a power of two
    return hi, a - hi  # exact: both are multiples of a's ulp, and the difference is below the grid


def draw(rng, distribution, size):
    """``size`` random entries: +-1 ("rademacher", one random bit each) or N(0, 1) ("gaussian")."""
    if distribution == "gaussian":
        return rng.standard_normal(size)
    random_bytes = np.frombuffer(rng.bytes((size + 7) // 8), dtype=np.uint8)
    return np.take(_SIGNS_OF_BYTE, random_bytes, axis=0).reshape(-1)[:size]


# Row b: the 8 entries +-1 that byte b stands for (bit 0 -> +1, bit 1 -> -1), so that a
# Rademacher draw is one lookup per random byte.
_SIGNS_OF_BYTE = 1.0 - 2.0 * np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)


__all__ = ["Group", "Parameters", "Tangents", "draw", "split"]
