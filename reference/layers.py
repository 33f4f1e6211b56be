"""The steps of one weight layer, in the order ``Architecture`` gives them.

After z = W a + b: maxout (the largest of each unit's pieces), batch or layer
normalisation, the activation, dropout's fixed mask.  Each step is a
``textbook.Step`` in its own module, with its forward pass, its backward step
and, where an assumption of the textbook concerns it, the textbook's form and
its repair.
"""

from gradcert.reference.activations import ActivationStep, activation_of_layer
from gradcert.reference.batchnorm import BatchNorm
from gradcert.reference.dropout import Dropout
from gradcert.reference.layernorm import LayerNorm
from gradcert.reference.maxout import Maxout


def activation_inputs(steps, caches):
    """Each layer's z as its activation takes it (after maxout and normalisation), from the
    steps of every layer and the caches of one forward pass (``Network._forward``)."""
    return [layer_caches[next(j for j, step in enumerate(layer_steps) if isinstance(step, ActivationStep))]
            for layer_steps, layer_caches in zip(steps, caches)]


def layer_steps(arch, layer):
    """The list of steps of weight layer ``layer`` (counted from 0)."""
    steps = [Maxout(arch.maxout[layer])] if arch.maxout[layer] > 1 else []
    if arch.batch_norm[layer]:
        steps.append(BatchNorm())
    if arch.layer_norm[layer]:
        steps.append(LayerNorm())
    steps.append(ActivationStep(activation_of_layer(arch, layer), arch.activations[layer]))
    if arch.dropout and arch.dropout[layer]:
        steps.append(Dropout(arch.dropout[layer]))
    return steps
