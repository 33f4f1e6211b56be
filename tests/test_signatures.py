"""The diagnosis of a black box's wrong gradient (``properties.candidates.signatures``): each signature
is named where it fits, and not where the evidence cannot tell (a tensor of one entry)."""

import numpy as np
import pytest
from gradcert.properties.candidates.signatures import diagnose

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FILE = f"{ROOT}/tests/candidates/diagnoses.py"
RNG = np.random.default_rng(7)
TRUE = RNG.normal(size=(3, 4))
DOUT = RNG.normal(size=(3, 4))


def test_a_constant_factor_is_named_with_its_value():
    found = diagnose("dx", 2 * TRUE, TRUE, dout=DOUT)
    assert found.signature == "constant_factor" and found.factor == pytest.approx(2.0)
    assert found.explanation.startswith("it is 2 times the true gradient")


def test_a_factor_that_is_not_constant_is_not_called_one():
    scaled = 2 * TRUE
    scaled.flat[np.argmax(np.abs(TRUE))] *= 1 + 1e-3  # the largest entry off by 1e-3: no one factor fits
    assert diagnose("dx", scaled, TRUE).signature != "constant_factor"


@pytest.mark.parametrize("k, named", [(2.0, True), (0.5, True), (-3.0, True), (1.37, False)])
def test_on_a_single_entry_only_a_simple_factor_is_named(k, named):
    # Any ratio fits one entry: only a simple fraction (a missing 1/2, a 2 too many) is evidence.
    found = diagnose("dx", np.array([[k * 0.3]]), np.array([[0.3]]), dout=np.array([[0.7]]))
    assert (found.signature == "constant_factor") is named, found


def test_one_entry_is_no_evidence_of_a_mask_left_out():
    # dx = dout * 1.37 on a 1 x 1 case: "dout passed through" fits any number; it is not said.
    found = diagnose("dx", np.array([[0.7 * 1.37]]), np.array([[0.3]]), dout=np.array([[0.7]]))
    assert found.signature is None


def test_a_mask_left_out_is_still_named():
    mask = TRUE > 0
    assert diagnose("dx", DOUT, DOUT * mask, dout=DOUT).signature == "mask_not_applied"


def test_a_zero_true_gradient_says_the_function_is_constant():
    assert diagnose("dx", TRUE, np.zeros_like(TRUE)).signature == "constant_function"


def test_a_zero_true_gradient_scaled_per_feature_is_still_mean_terms_missing():
    # batch norm of one example: its output is constant; dx = dout / std, no mean terms
    found = diagnose("dx", DOUT * np.array([1.0, 2.0, 3.0, 4.0]), np.zeros_like(TRUE), dout=DOUT)
    assert found.signature == "mean_terms_missing"


def test_a_square_root_missing_its_half_is_told_so():
    cert = gradcert.check(f"{FILE}:sqrthalf", inputs="x=N,D", examples=30, oracles=["finite-diff"])
    assert cert.exit_code == 1
    assert "2 times the true gradient" in (cert.failure.diagnosis or ""), cert.failure.diagnosis


def test_a_loss_never_accumulated_is_told_so():
    cert = gradcert.check(f"{FILE}:softmax_loss_never_accumulated", examples=30)
    assert cert.exit_code == 1
    assert "does not change with this input" in (cert.failure.diagnosis or ""), cert.failure.diagnosis


def test_garbage_is_no_mask_left_out():
    # np.empty's leftovers (1e288) beside a true gradient of order one: every true entry is small
    # next to them, and a scale taken from both would call it a mask not applied.
    garbage = np.where(TRUE > 0, 1e288, TRUE)
    assert diagnose("dx", garbage, TRUE * (TRUE > 0) + 0.0, dout=DOUT).signature != "mask_not_applied"
