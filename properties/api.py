"""The Python front door: ``gradcert.check`` and ``gradcert.assert_certified``.

    import gradcert

    cert = gradcert.check("mynn/network.py:Network", cost="cross-entropy")
    cert.certified, cert.verdict, cert.failure, cert.reproduce
    gradcert.check(MyLayer, shape="N,C,H,W").raise_for_verdict()     # in a test

In the spirit of ``torch.autograd.gradcheck`` and ``jax.test_util.check_grads``: one call, the
options validated before anything runs (a ``UsageError`` says what to change), one result.
"""

from __future__ import annotations

from gradcert.properties.certificate import Certificate
from gradcert.properties.options import Options


def check(target=None, **options) -> Certificate:
    """Certify ``target``'s gradients; returns a ``Certificate`` (data: verdict, per-oracle results,
    the failure, the command that reproduces it).

    ``target`` is a ``"package.module:Name"`` or ``"path/to/file.py:Name"`` string, or the object
    itself: a network class or a one-argument factory of one (network.py's interface), a layer
    class or instance, a model class, a ``grad(arch, weights, biases, x, y)`` function; None checks
    the bundled reference.  A string target, or an object its module can import again, runs in a
    fresh worker process; any other object runs in a forked copy of this process (in this process,
    with a note, where the platform cannot fork).

    The options (all keyword-only) are ``gradcert check``'s flags: cost, activation,
    hidden_activation, output_activation, depth, sizes, l2, batch_norm (the networks drawn);
    layout, shape, inputs, dims, init, kwargs, params, lr (how to call a layer, a function pair or
    a model); style (force one); batch, examples, seed, case_seed, oracles, mode ("auto",
    "exhaustive", "directional"), timeout (seconds per call into the target).  ``options=`` takes a
    ready ``Options`` instead.
    """
    from gradcert.properties import runner

    ready = options.pop("options", None)
    if ready is not None and options:
        raise TypeError("check(): give options= or keyword options, not both")
    built = ready if ready is not None else Options.build(**options)
    return runner.run(target, built)


def assert_certified(target=None, **options) -> Certificate:
    """``check(target, **options).raise_for_verdict()``: for a test; raises CertificationError."""
    return check(target, **options).raise_for_verdict()
