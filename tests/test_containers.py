"""A network's weights and biases in the container it keeps them in (a tuple, a 1-D object array): gradcert
assigns its drawn arrays in the same container, and reads a gradient held as one stacked array as a list
of layers.  Before, a list put in an object array's place broke the network's own step (exit 1 on
correct code)."""

import numpy as np
import pytest
from gradcert.properties.candidates import worker
from gradcert.properties.candidates.verdicts import CandidateFailure, gradient_arrays
from gradcert.reference import Architecture

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FILE = f"{ROOT}/tests/candidates/containers.py"


def test_a_network_is_given_its_arrays_in_its_own_container():
    cert = gradcert.check(f"{FILE}:ObjectArrays", examples=15)
    assert cert.certified, cert.failure


def test_an_assigned_list_takes_the_container_held_there():
    arrays = [np.zeros((2, 3)), np.zeros((2, 2))]
    held = worker._like(np.empty(2, dtype=object), arrays)
    assert held.dtype == object and held.shape == (2,) and held[0] is arrays[0]
    assert worker._like(np.empty(2, dtype=object), [np.zeros((2, 2))] * 2).shape == (2,)  # not (2, 2, 2)
    assert worker._like((1, 2), arrays) == tuple(arrays)
    assert worker._like([], arrays) is arrays and worker._like(np.zeros(2), arrays) is arrays


def test_a_wrong_network_in_an_object_array_is_still_caught():
    cert = gradcert.check(f"{FILE}:ObjectArraysBP2Sign", examples=15)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_gradient_stacked_in_one_array_is_a_list_of_layers():
    arch = Architecture.build([3, 3, 3], "sigmoid", "quadratic")
    nabla_b, nabla_w = np.ones((2, 3, 1)), np.ones((2, 3, 3))
    got_b, got_w, _ = gradient_arrays((nabla_b, nabla_w), arch, "backprop")
    assert [t.shape for t in got_b] == [(3, 1)] * 2 and [t.shape for t in got_w] == [(3, 3)] * 2


def test_a_stack_of_the_wrong_length_is_still_an_invalid_output():
    arch = Architecture.build([3, 2, 2], "sigmoid", "quadratic")
    with pytest.raises(CandidateFailure, match="nabla_b has 1 entries for 2 layers"):
        gradient_arrays((np.ones((1, 2, 2)), [np.ones((2, 3)), np.ones((2, 2))]), arch, "backprop")
