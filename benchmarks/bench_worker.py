"""What the worker process costs: its start-up, and the overhead of one call at [784, 30, 10].

    python benchmarks/bench_worker.py [--calls 200]

* start-up: from nothing to a worker that has imported a small target (the interpreter, NumPy,
  the worker module and the import) -- paid once per check;
* per call: network.py's ``backprop(x, y)`` on one [784, 30, 10] column, through the worker
  (arguments pickled in, the two lists of 23,860 float64 entries pickled back), against the same
  call in this process: the difference is the worker's overhead.  The median of ``--calls`` calls.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "zoo" / "correct" / "matrix_form.py"
SIZES = [784, 30, 10]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    from gradcert.properties.candidates.process import Worker
    from gradcert.properties.candidates.remote import TARGET as REF0
    from gradcert.properties.candidates.targets import parse

    spec = parse(f"{TARGET}:Network")
    starts = []
    for _ in range(5):
        begin = time.perf_counter()
        with Worker(timeout=30) as worker:
            assert worker.request(spec.load_request(), what="import")["status"] == "ok"
            starts.append(time.perf_counter() - begin)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((n, k)) / np.sqrt(k) for k, n in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.standard_normal((n, 1)) for n in SIZES[1:]]
    x, y = rng.standard_normal((SIZES[0], 1)), rng.random((SIZES[-1], 1))

    with Worker(timeout=30) as worker:
        worker.request(spec.load_request(), what="import")
        net = worker.request({"op": "call", "target": REF0, "args": [SIZES], "keep": "handle"}, what="N")[
            "value"
        ]
        for name, value in (("weights", weights), ("biases", biases)):
            worker.request({"op": "set", "target": net, "path": [("a", name)], "value": value}, what="set")
        remote = []
        for _ in range(args.calls):
            begin = time.perf_counter()
            worker.request(
                {"op": "call", "target": net, "method": "backprop", "args": [x, y]}, what="backprop"
            )
            remote.append(time.perf_counter() - begin)
    sys.path.insert(0, str(TARGET.parent))
    import matrix_form

    local_net = matrix_form.Network(SIZES)
    local_net.weights, local_net.biases = weights, biases
    local = []
    for _ in range(args.calls):
        begin = time.perf_counter()
        local_net.backprop(x.copy(), y.copy())
        local.append(time.perf_counter() - begin)
    in_worker, here = statistics.median(remote), statistics.median(local)
    print(
        f"worker start-up (interpreter, NumPy, the target): median {statistics.median(starts):.3f} s, "
        f"min {min(starts):.3f} s over {len(starts)} starts"
    )
    print(
        f"backprop on [784, 30, 10], median of {args.calls}: {in_worker * 1e3:.3f} ms through the worker, "
        f"{here * 1e3:.3f} ms in this process: overhead {(in_worker - here) * 1e3:.3f} ms per call"
    )


if __name__ == "__main__":
    main()
