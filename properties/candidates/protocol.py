"""The wire between gradcert and its worker process: length-prefixed pickles over two pipes.

Standard library only: the worker imports this module before anything else.

The parent trusts what it sends and nothing it receives.  A reply is read
with ``SafeUnpickler``, which rebuilds plain data only (numbers, strings,
containers, NumPy arrays and dtypes, and this module's ``Opaque`` and
``Ref``): a candidate that wrote its own pickle into the pipe could otherwise
run code in the parent and forge the verdict.  Each request carries a random
token that the worker's loop (not the candidate's code) puts on its replies:
a message the candidate writes into the channel itself has none.
"""

from __future__ import annotations

import io
import os
import pickle
import struct

HEADER = struct.Struct("!Q")  # the length of the pickle that follows
MAX_MESSAGE = 2**34  # 16 GiB: a length beyond this is a corrupted channel, not a message


class Ref:
    """A handle to an object that lives in the worker (a constructed layer, a cs231n cache)."""

    __slots__ = ("id",)

    def __init__(self, id):
        self.id = id

    def __reduce__(self):
        return Ref, (self.id,)

    def __repr__(self):
        return f"Ref({self.id})"


class Opaque:
    """Something the worker could not turn into plain data: its type and a short repr."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __reduce__(self):
        return Opaque, (self.type_name, self.text)

    def __repr__(self):
        return f"<{self.type_name}: {self.text}>"


class PlainStep:
    """gradcert's optimizer, for layers that are handed one (ML-From-Scratch's
    ``initialize(optimizer)``, whose backward then steps with ``optimizer.update(w, grad)``; the FAU
    exercises' ``layer.optimizer = ...``, stepping with ``calculate_update(w, grad)``): one plain SGD
    step, w - lr grad, so that (before - after) / lr is the gradient."""

    __slots__ = ("learning_rate",)

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def update(self, w, grad_wrt_w):
        return w - self.learning_rate * grad_wrt_w

    def calculate_update(self, weight_tensor, gradient_tensor):  # the FAU exercises' optimizers' name
        return weight_tensor - self.learning_rate * gradient_tensor

    def __reduce__(self):
        return PlainStep, (self.learning_rate,)


def send(fd, message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, HEADER.pack(len(data)))
    _write_all(fd, data)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd, size):
    """``size`` bytes from ``fd`` (blocking), or None at end of file."""
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, min(remaining, 2**20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(fd):
    """The next message on ``fd`` (blocking; the worker's side), or None at end of file."""
    header = read_exactly(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    data = read_exactly(fd, size)
    return None if data is None else pickle.loads(data)


# What a reply may be built from.  NumPy pickles an array as a call to one of a few
# reconstructors (their module moved from numpy.core to numpy._core in NumPy 2).
_ALLOWED = (
    {("builtins", name) for name in ("complex", "set", "frozenset", "slice", "range", "bytearray")}
    | {
        (module, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    }
    | {(module, "_frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")}
    | {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("gradcert.properties.candidates.protocol", "Ref"),
        ("gradcert.properties.candidates.protocol", "Opaque"),
    }
)


class ChannelError(Exception):
    """The worker's reply is not a message gradcert sent for: the channel was written to by something else."""


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module == "numpy.dtypes" and name.isidentifier() and name.endswith("DType"):
            # NumPy 2 may name a dtype's class, e.g. numpy.dtypes.Float64DType.  That name alone: a
            # dotted one is an attribute path (numpy.dtypes.__builtins__.get reaches exec)
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise ChannelError(f"the worker's reply asks for {module}.{name}, which no reply of gradcert's holds")


def loads_safely(data):
    try:
        message = SafeUnpickler(io.BytesIO(data)).load()
    except ChannelError:
        raise
    except Exception as error:  # truncated or garbled bytes
        raise ChannelError(
            f"the worker's reply could not be read ({type(error).__name__}: {error})"
        ) from None
    if not _a_tree_within(message, PARTS_PER_BYTE * len(data) + 1000):
        raise ChannelError(
            f"the worker's reply of {len(data)} bytes holds far more values than that: "
            "its parts are shared (a pickle bomb)"
        )
    return message


PARTS_PER_BYTE = 4  # a reply the worker builds is a tree: each of its values costs a byte or more


def _a_tree_within(value, budget):
    """Whether ``value`` read as a tree (a container reached twice counted twice, as whoever walks it
    walks it) has at most ``budget`` parts.  A pickle may hold one list twice at every level: a few
    hundred bytes that are 2**40 numbers to ``np.asarray``."""
    stack = [value]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif getattr(item, "dtype", None) is not None and getattr(item.dtype, "hasobject", False):
            stack.extend(item.ravel().tolist() if item.dtype.names is None else [])
    return True
