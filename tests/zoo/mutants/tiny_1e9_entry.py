"""network.py's Network with one entry, nabla_w[0][0, 0], off by a relative 1e-9.

The sharpest bug in the zoo: everything else is the book's code (the port in
tests/zoo/correct/nielsen_network.py), and the error is about 1e7 machine
epsilons -- far above float64 roundoff of backprop on small networks
(~1e-15 relative), far below what finite differences resolve (~1e-7).  Only an
oracle accurate to near machine precision (autograd, complex step) can see it;
gradcert must catch it in every mode.
"""

from ..correct import nielsen_network


class Network(nielsen_network.Network):

    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        nabla_w[0][0, 0] *= 1.0 + 1e-9
        return (nabla_b, nabla_w)
