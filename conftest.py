"""Hypothesis settings profiles, chosen by HYPOTHESIS_PROFILE (default: ci under CI, else dev).

* dev      -- quick local runs;
* ci       -- derandomized (the same examples on every run) and no deadline, since
              shared CI machines have noisy timings;
* thorough -- many examples, for a long run before a release.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("ci", max_examples=50, derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

try:  # JAX computes in float32 unless told otherwise, before any array is made.
    import jax
except ImportError:
    pass
else:
    jax.config.update("jax_enable_x64", True)
