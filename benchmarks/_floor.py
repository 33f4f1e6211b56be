"""The floor of the default directional check: its arithmetic, with no error bound.

What the default check on a plain MLP computes in any implementation, written as tightly as NumPy
allows and with every bound, tolerance and record left out: the candidate's backprop, the 12
projections <g, d> (4 global, one random and one along sign(g) per tensor; rank-one on a weight
matrix of more than 4,096 entries), the forward pass and sigma' by one complex step, the 12
directions' tangents through the network and the cost's complex step at the output, the first big
layer's unit directions (one per unit: its row and bias), and the Taylor test's 35 evaluations of
the cost along the first direction.  No check can do this work for less in NumPy, so its time over
gradcheck's fast mode is the least ratio the default directional mode can reach: the gap between it
and gradcert's own is what the bounds and the bookkeeping cost.  Its directions are its own draws
(the arithmetic, not the values, is the point); it certifies nothing and returns True.
"""

import numpy as np

EPS = 2.0**-64  # the complex step
TAYLOR_STEPS = 35  # 13 halvings, both signs, and 9 points of the noise measurement
RANK_ONE_ABOVE = 2**12


def _activation(name):
    return {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh}[name]


def floor_check(the_case, net, directions=4):
    """A no-argument function doing the floor's work once (see the module docstring)."""
    arch = the_case.arch
    if arch.cost != "quadratic" or len(set(arch.activations)) != 1:
        raise ValueError("the floor is written for one elementwise activation and the quadratic cost")
    sigma = _activation(arch.activations[0])
    weights = [np.asarray(w) for w in the_case.weights]
    biases = [np.asarray(b).reshape(-1) for b in the_case.biases]
    x, y = np.asarray(the_case.x).T.copy(), np.asarray(the_case.y).T.copy()  # examples as rows
    rng = np.random.default_rng(0)

    def signs(*shape):
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0)

    k = 3 * directions  # global, per tensor, along g: as the default's 12 on two layers
    drawn = []
    for w, b in zip(weights, biases):
        big = w.size > RANK_ONE_ABOVE
        drawn.append({"big": big, "b": signs(directions + 1, b.size),
                      "w": (signs(directions + 1, w.shape[0]), signs(directions + 1, w.shape[1])) if big
                      else signs(directions + 1, *w.shape)})
    units = [(signs(*w.shape), signs(w.shape[0])) if d["big"] else None for w, d in zip(weights, drawn)]

    def cost(a_out):
        return 0.5 * np.mean(np.sum((a_out - y) ** 2, axis=-1), axis=-1)

    def check():
        nabla_b, nabla_w = net.backprop(the_case.x, the_case.y)
        dots = 0.0
        for d, gb, gw in zip(drawn, nabla_b, nabla_w):
            dots += float(np.sum(d["b"] @ gb.reshape(-1)) + np.abs(gb).sum() + np.abs(gw).sum())
            dots += float(np.sum((d["w"][0] @ gw) * d["w"][1])) if d["big"] else float(
                np.einsum("kij,ij->", d["w"], gw))
        zs, inputs, slopes = [], [x], []
        for w, b in zip(weights, biases):
            z = inputs[-1] @ w.T + b
            zs.append(z)
            inputs.append(sigma(z))
            slopes.append(sigma(z + 1j * EPS).imag / EPS)
        tangent = None  # (k, m, n): every direction's tangent, the cost's complex step at the output
        for layer, (w, d) in enumerate(zip(weights, drawn)):
            m, n = zs[layer].shape
            injected = np.zeros((k, m, n))
            if d["big"]:
                us, vs = d["w"]
                injected[:directions + 1] = (inputs[layer] @ vs.T).T[:, :, None] * us[:, None, :]
            else:
                injected[:directions + 1] = np.einsum("mi,kji->kmj", inputs[layer], d["w"])
            injected[:directions + 1] += d["b"][:, None, :]
            injected[directions + 1:] = inputs[layer] @ np.sign(nabla_w[layer]).T  # along g
            tangent = injected if tangent is None else tangent @ w.T + injected
            if layer < len(weights) - 1:
                tangent = slopes[layer] * tangent
        slope = cost(sigma(zs[-1] + 1j * EPS * tangent)).imag / EPS
        for layer, unit in enumerate(units):
            if unit is None or layer == len(weights) - 1:
                continue
            signs_w, signs_b = unit
            moved = (slopes[layer] * (inputs[layer] @ signs_w.T + signs_b)).T  # (units, m): one unit each
            z_next = zs[layer + 1] + 1j * EPS * moved[:, :, None] * weights[layer + 1].T[:, None, :]
            a = sigma(z_next)
            for later in range(layer + 2, len(weights)):
                a = sigma(a @ weights[later].T + biases[later])
            slope = slope.sum() + (cost(a).imag / EPS).sum()
        steps = np.linspace(-2.0**-3, 2.0**-3, TAYLOR_STEPS)[:, None, None]
        first = drawn[0]
        along = (inputs[0] @ first["w"][1][0])[:, None] * first["w"][0][0] if first["big"] else \
            inputs[0] @ first["w"][0].T
        a = sigma(zs[0] + steps * (along + first["b"][0]))
        for layer in range(1, len(weights)):
            d = drawn[layer]
            moved = ((a @ d["w"][1][0])[..., None] * d["w"][0][0]) if d["big"] else a @ d["w"][0].T
            a = sigma(a @ weights[layer].T + biases[layer] + steps * (moved + d["b"][0]))
        taylor = cost(a)
        return bool(np.isfinite(dots + float(np.sum(slope)) + float(np.sum(taylor))))

    return check
