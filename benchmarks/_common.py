"""What the benchmark scripts share: the networks, timing, and a note of the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository root
if str(ROOT) not in sys.path:  # run as `python benchmarks/NAME.py` from anywhere
    sys.path.insert(0, str(ROOT))

# name -> (sizes, activation, cost, batch size)
NETWORKS = {
    "nielsen": ([784, 30, 10], "sigmoid", "quadratic", 10),  # 23,860 parameters
    "mlp1m": ([1000, 1000, 10], "sigmoid", "quadratic", 10),  # 1,011,010 parameters
}


def case(network, seed=0):
    """The benchmark case: a drawn case of ``NETWORKS[network]``, rebuilt from its seed."""
    from gradcert.properties.strategies import case_from_seed
    from gradcert.reference import Architecture

    sizes, activation, cost, m = NETWORKS[network]
    return case_from_seed(Architecture.build(sizes, activation, cost), m, seed)


def clock(function, repeat=1):
    """Wall-clock seconds of each of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def median(values):
    return statistics.median(values)


def peak_rss_mib():
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(script, *args, env=None, timeout=3600):
    """Run ``python script --worker args`` in a fresh process; it prints one JSON line last."""
    command = [sys.executable, str(script), "--worker", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def blas_summary():
    """Which BLAS numpy uses here, and the variables that slow it on some processors."""
    import numpy as np

    lines = []
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            lines.append(f"{pool.get('internal_api')} {pool.get('version')} "
                         f"{pool.get('architecture')} threads={pool.get('num_threads')}")
    except ImportError:
        config = np.show_config(mode="dicts") or {}
        blas = config.get("Build Dependencies", {}).get("blas", {})
        lines.append(f"numpy {np.__version__} BLAS {blas.get('name')} {blas.get('version')} "
                     f"({blas.get('openblas configuration', '').strip() or 'no config string'}); "
                     "threadpoolctl not installed, so the kernel chosen at run time is not shown")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        lines.append(f"{name}={os.environ.get(name, '(unset)')}")
    return lines


def machine_summary():
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"{platform.platform()}; python {platform.python_version()}; {os.cpu_count()} cores; "
            f"load average {load} (other processes share these cores)", *blas_summary()]


def print_header(title, argv):
    print(title)
    print("command: " + shlex.join([Path(sys.executable).name, *argv]))
    print("date:    " + time.strftime("%Y-%m-%d %H:%M"))
    for line in machine_summary():
        print("         " + line)
    print()


def table(rows, headers):
    """A plain text table: one row per list, columns padded to fit."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
