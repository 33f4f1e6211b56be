"""Layers as two courses' exercises write them.

FAU's: gradient_weights beside weights, an unread bias, and an optimizer the network sets.  gradcert
sets it too (a plain SGD step with calculate_update), so that a dx taken from the weights after the
step is caught; before, the optimizer stayed None and that bug passed, and the layer itself was exit 2
(no gradient found for weights or for its bias).

Deep Learning from Scratch's Convolution(W, b): its filters drawn beside an input of rank 4."""

import pytest
from gradcert.properties.errors import TargetError

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FILE = f"{ROOT}/tests/candidates/fau_layers.py"
FAST = {"examples": 15, "oracles": ["finite-diff"]}


def test_a_layer_given_its_optimizer_is_judged_on_its_step_and_its_dx():
    cert = gradcert.check(f"{FILE}:FullyConnected", **FAST)
    assert cert.certified, cert.failure
    assert any("optimizer is set to a plain SGD step" in n for n in cert.notes), cert.notes


def test_a_dx_taken_after_the_step_is_caught():
    cert = gradcert.check(f"{FILE}:FullyConnectedStepFirst", **FAST)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
    assert cert.failure.first_disagreement["tensor"] == "dx", cert.failure


def test_an_array_forward_never_reads_is_no_parameter():
    cert = gradcert.check(f"{FILE}:Plain", **FAST)
    assert cert.certified, cert.failure
    assert any("never read by forward): bias" in n for n in cert.notes), cert.notes


def test_an_array_forward_reads_with_no_gradient_is_still_refused():
    with pytest.raises(TargetError, match=r"holds float parameters \(bias\) whose gradients"):
        gradcert.check(f"{FILE}:PlainReadsItsBias", **FAST)


CONV = f"{ROOT}/tests/candidates/conv_arrays.py"


def test_a_convolution_built_around_its_arrays_gets_filters_drawn():
    # Convolution(W, b) with an input of rank 4: W drawn (F, C, 3, 3), b (F,); before, a 2-D W (exit 2).
    cert = gradcert.check(f"{CONV}:Convolution", shape="N,C,H,W", **FAST)
    assert cert.certified, cert.failure
    assert any("W (F, C, 3, 3)" in n for n in cert.notes), cert.notes
    cert = gradcert.check(f"{CONV}:ConvolutionDbSummedOverOneImage", shape="N,C,H,W", **FAST)
    assert cert.exit_code == 1 and cert.failure.first_disagreement["tensor"] == "db", cert.failure
