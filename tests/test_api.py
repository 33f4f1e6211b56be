"""The Python front door: gradcert.check(target) -> Certificate, for strings and for objects.

An object its module can import again runs in a fresh worker process; one defined in a function
(or an instance) runs in a forked copy of this process.  Either way the candidate is isolated,
the verdict is data, and this process's state -- signal handlers and timers, JAX's x64 flag,
torch's thread count, the current directory -- is as it was.
"""

import signal
import subprocess
import sys

import numpy as np
import pytest
from gradcert.properties.errors import CertificationError, GradcertError, TargetError, UsageError

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
NIELSEN = f"{ROOT}/tests/zoo/correct/nielsen_network.py:Network"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class ModuleLevelNetwork:
    """network.py's interface, defined at module level: checked in a fresh worker that imports it."""

    def __init__(self, sizes):
        self.weights = [np.zeros((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((n, 1)) for n in sizes[1:]]

    def backprop(self, x, y, bug=False):
        activations, zs = [x], []
        for w, b in zip(self.weights, self.biases):
            zs.append(w @ activations[-1] + b)
            activations.append(sigmoid(zs[-1]))
        s = sigmoid(zs[-1])
        delta = (activations[-1] - y) * (1.0 if bug else s * (1 - s))
        nabla_b, nabla_w = [None] * len(zs), [None] * len(zs)
        for i in reversed(range(len(zs))):
            nabla_b[i], nabla_w[i] = delta, delta @ activations[i].T
            if i:
                s = sigmoid(zs[i - 1])
                delta = (self.weights[i].T @ delta) * s * (1 - s)
        return nabla_b, nabla_w


def test_the_public_names():
    expected = {
        "check",
        "assert_certified",
        "Certificate",
        "Failure",
        "Options",
        "assert_gradient",
        "judge",
        "cases",
        "architectures",
        "case_from_seed",
        "Case",
        "directional_check",
        "Network",
        "Architecture",
        "GradcertError",
        "UsageError",
        "TargetError",
        "ArchitectureError",
        "CannotCheck",
        "CertificationError",
        "GradientMismatch",
        "__version__",
    }
    assert set(gradcert.__all__) == expected
    for name in gradcert.__all__:
        assert getattr(gradcert, name) is not None


def test_importing_gradcert_imports_nothing_heavy():
    heavy = "('numpy', 'hypothesis', 'torch', 'jax')"
    probe = f"import sys, gradcert; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_a_string_target_is_certified_and_the_certificate_is_data():
    cert = gradcert.check(NIELSEN, examples=10, oracles=["finite-diff"])
    assert cert.certified and cert.verdict == "certified" and cert.exit_code == 0 and cert.isolated
    assert cert.style == "network" and cert.oracles["finite-diff"].cases > 0 and cert.failure is None
    assert cert.raise_for_verdict() is cert
    record = cert.to_dict()
    assert record["verdict"] == "certified" and record["tensors_checked"]


def test_a_module_level_class_is_checked_in_a_worker_that_imports_it():
    cert = gradcert.check(ModuleLevelNetwork, examples=10, oracles=["finite-diff"])
    assert cert.certified and cert.isolated, cert.failure


def test_a_class_defined_in_a_function_is_checked_in_a_forked_worker():
    class Buggy(ModuleLevelNetwork):
        def backprop(self, x, y):
            return super().backprop(x, y, bug=True)

    cert = gradcert.check(Buggy, examples=10, oracles=["finite-diff"])
    assert cert.verdict == "gradient bug" and cert.isolated
    assert cert.failure.signature == "sigma_prime_missing"
    assert cert.reproduce.startswith("gradcert.check(")  # no command line reaches a local class
    with pytest.raises(CertificationError, match="BUG in backprop") as raised:
        cert.raise_for_verdict()
    assert raised.value.certificate is cert and isinstance(raised.value, AssertionError)


def test_a_layer_instance_is_copied_for_every_case():
    class Tanh:
        calls = 0

        def forward(self, x):
            type(self).calls += 1
            self.out = np.tanh(x)
            return self.out

        def backward(self, dout):
            return dout * (1 - self.out**2)

    layer = Tanh()
    cert = gradcert.check(layer, examples=5)
    assert cert.certified and cert.style == "layer", cert.failure
    assert Tanh.calls == 0  # its forward ran in the worker, never here


def test_assert_certified_raises_for_a_bug():
    with pytest.raises(CertificationError):
        gradcert.assert_certified(
            f"{ROOT}/tests/zoo/mutants/sigma_prime_dropped.py:Network", examples=10, oracles=["finite-diff"]
        )


@pytest.mark.parametrize(
    "target, options, kind",
    [
        ("nowhere_at_all:Net", {}, TargetError),
        (NIELSEN, {"cost": "hinge"}, UsageError),
        (NIELSEN, {"l2": 0.1}, UsageError),
        (NIELSEN, {"colour": "blue"}, UsageError),
    ],
)
def test_what_cannot_be_checked_raises_one_family(target, options, kind):
    with pytest.raises(kind) as raised:
        gradcert.check(target, **options)
    assert isinstance(raised.value, GradcertError) and "\n" not in str(raised.value)


def test_a_check_leaves_this_process_as_it_found_it(tmp_path, monkeypatch):
    import os

    import torch

    jax = pytest.importorskip("jax")
    monkeypatch.chdir(tmp_path)

    def ours(*_):  # pytest-timeout's, say
        pass

    previous = signal.signal(signal.SIGALRM, ours)
    signal.setitimer(signal.ITIMER_REAL, 1000.0)
    threads = torch.get_num_threads()
    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)  # the caller's choice, which the JAX oracle must put back
    try:
        gradcert.check(NIELSEN, examples=5, oracles=["torch", "jax", "finite-diff"])
        assert signal.getsignal(signal.SIGALRM) is ours
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 900  # the caller's alarm still runs
        assert jax.config.jax_enable_x64 is False and torch.get_num_threads() == threads
        assert os.getcwd() == str(tmp_path) and not list(tmp_path.iterdir())
    finally:
        jax.config.update("jax_enable_x64", x64)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
