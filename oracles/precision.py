"""The one table of floating-point precisions, used by the oracles and the properties alike.

For each dtype a candidate may compute in (float16, float32, float64 and the
platform's long double) the unit roundoff u = eps / 2 -- every correctly rounded
operation is off by a relative u at most -- and the smallest normal number:
below it an operation may lose up to that much absolutely (gradual underflow),
whatever its relative precision.  Every tolerance in gradcert scales with these
two numbers; nothing else spells out a precision.
"""

from __future__ import annotations

import numpy as np

DTYPES = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.longdouble))
ROUNDOFF = {t: float(np.finfo(t).eps) / 2 for t in DTYPES}
# As float64 numbers: long double's own (3e-4932 on x86) is 0 there.  A long double
# candidate is compared in float64, whose smallest normal every comparison adds anyway.
SMALLEST_NORMAL = {t: float(np.finfo(t).tiny) for t in DTYPES}

FLOAT64 = np.dtype(np.float64)
UNIT_ROUNDOFF = ROUNDOFF[FLOAT64]  # float64's, the oracles' own arithmetic: 2^-53
TINY = SMALLEST_NORMAL[FLOAT64]  # float64's smallest normal, 2^-1022


def unit_roundoff(dtype=FLOAT64) -> float:
    """u of a floating dtype (float64's for anything not in the table: integers, objects)."""
    return ROUNDOFF.get(np.dtype(dtype), UNIT_ROUNDOFF)


def smallest_normal(dtype=FLOAT64) -> float:
    """The smallest normal number of a floating dtype, as a float64 (float64's if not in the table)."""
    return SMALLEST_NORMAL.get(np.dtype(dtype), TINY)


def dtype_of_roundoff(u: float):
    """The dtype whose unit roundoff is ``u`` (float64 if none is): a candidate declared by its u."""
    return next((t for t in DTYPES if ROUNDOFF[t] == u), FLOAT64)


def gamma(n, u=UNIT_ROUNDOFF):
    """Higham's gamma_n = n u / (1 - n u): the relative error of n roundings, in any order."""
    return n * u / (1.0 - n * u)


__all__ = ["DTYPES", "FLOAT64", "ROUNDOFF", "SMALLEST_NORMAL", "TINY", "UNIT_ROUNDOFF", "dtype_of_roundoff",
           "gamma", "smallest_normal", "unit_roundoff"]
