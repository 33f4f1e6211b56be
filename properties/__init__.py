"""gradcert.properties: strategies, the properties, comparison, the runner, candidates and their worker,
directional mode, the assumption map, and the front ends (CLI, pytest plugin).

Kept import-light: the pytest plugin lives below this package and is loaded by every pytest run of
every project that has gradcert installed, so nothing here imports NumPy, Hypothesis, torch or JAX.
"""
