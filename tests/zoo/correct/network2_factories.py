"""The adapters a user of network2.py writes: one-argument factories fixing the cost.

network2's ``Network(sizes, cost=CrossEntropyCost)`` takes its cost as a second
argument, so a user who wants the quadratic cost, or wants to say which cost
is meant, writes one of these and hands it to gradcert as the target:

* ``Net2Quadratic`` -- a plain function of ``sizes``;
* ``Net2CrossEntropy`` -- a ``functools.partial`` of the class;
* ``Net2QuadraticLambda`` -- the same as a lambda.

The port is imported relatively (``from . import nielsen_network2``), as a
user's package imports its sibling.  That works whichever dotted name the file
is imported under (``zoo.correct.network2_factories`` the way pytest's
rootdir-relative import names it, tests/ having no ``__init__.py``, or
``tests.zoo.correct.network2_factories``), but not when the file is run or
loaded as a top-level module with no package.
"""

import functools

from . import nielsen_network2


def Net2Quadratic(sizes):
    return nielsen_network2.Network(sizes, cost=nielsen_network2.QuadraticCost)


Net2CrossEntropy = functools.partial(nielsen_network2.Network, cost=nielsen_network2.CrossEntropyCost)

Net2QuadraticLambda = lambda sizes: nielsen_network2.Network(sizes, cost=nielsen_network2.QuadraticCost)  # noqa: E731
