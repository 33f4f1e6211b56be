"""What gradcert draws for a black-box candidate, and why each choice can fail a test.

* Functions defined on the positive numbers alone: a correct log or square root is certified at
  positive inputs, never judged a crash at gradcert's negative ones; its mutants are still caught,
  and a backward that is not finite where the forward is stays a verdict (exit 1).
* Wide draws: one case in eight is N(0, 16), so a gradient clipped at |x| > 3 is caught.
* Two regularisation strengths: a strength written in as a number is caught.
* A mask over a sequence's labels (cs231n's temporal_softmax_loss): drawn with about a quarter of it
  False, so that a gradient that leaves it out is caught.
* A pair of two outputs (an LSTM step's next_h and next_c): a dout drawn for each, so that a
  backward that drops one of them is caught.
* Inputs of integers (cs231n's word_embedding_forward(x, W): x indices below V), declared or found
  where a forward raises at float indices: no gradient of their own, and an index repeated in every
  draw, so a backward that assigns where np.add.at adds is caught.
"""

import pytest

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FILE = f"{ROOT}/tests/candidates/domains.py"
STRENGTHS = f"{ROOT}/tests/candidates/strengths.py"
SEQUENCES = f"{ROOT}/tests/candidates/sequences.py"
FAST = {"examples": 30, "oracles": ["finite-diff"]}
EMBEDDING = f"{ROOT}/tests/zoo/styles/cs231n_rnn_layers.py:word_embedding"
EMBEDDING_BUGGY = f"{ROOT}/tests/zoo/mutants/cs231n_rnn_layers_buggy.py:word_embedding"


@pytest.mark.parametrize("name", ["Log", "Sqrt", "NegLogLoss", "MathLog", "log"])
def test_a_correct_function_of_positive_inputs_is_certified_there(name):
    cert = gradcert.check(f"{FILE}:{name}", **FAST)
    assert cert.certified, cert.failure
    assert any("drawn positive" in note for note in cert.notes), cert.notes


def test_one_hot_labels_are_drawn_for_a_loss_layer_that_crashes_on_indices():
    cert = gradcert.check(f"{FILE}:NegLogLoss", **FAST)
    assert any("one-hot" in note for note in cert.notes), cert.notes


@pytest.mark.parametrize("name", ["LogSquared", "SqrtNoHalf", "NegLogLossNoMean", "logwrong"])
def test_a_mutant_of_positive_inputs_is_still_caught(name):
    cert = gradcert.check(f"{FILE}:{name}", **FAST)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_backward_not_finite_where_the_forward_is_stays_a_verdict():
    cert = gradcert.check(f"{FILE}:Clip", **FAST)
    assert cert.exit_code == 1 and not cert.certified
    assert not any("drawn positive" in note for note in cert.notes), cert.notes


def test_a_gradient_right_only_for_small_inputs_is_caught_on_a_wide_case():
    cert = gradcert.check(f"{FILE}:ClippedGradient", examples=100, oracles=["finite-diff"])
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_correct_regularised_loss_is_certified_at_both_strengths():
    cert = gradcert.check(f"{STRENGTHS}:softmax_loss_vectorized", examples=20)
    assert cert.certified, cert.failure
    assert any("reg=0.1 or 0.35" in note for note in cert.notes), cert.notes


def test_a_strength_written_in_as_a_number_is_caught():
    cert = gradcert.check(f"{STRENGTHS}:softmax_loss_fixed_reg", examples=20)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_masked_sequence_loss_is_driven_with_its_mask():
    # Before: exit 2, "cannot tell what mask is".
    cert = gradcert.check(f"{SEQUENCES}:temporal_softmax_loss", examples=20)
    assert cert.certified, cert.failure


def test_a_sequence_loss_whose_gradient_leaves_the_mask_out_is_caught():
    cert = gradcert.check(f"{SEQUENCES}:temporal_softmax_loss_unmasked_grad", examples=20)
    assert cert.exit_code == 1 and cert.failure.signature == "mask_not_applied", cert.failure


# Wx (D, 4H): a size a whole multiple of a drawn one (the four gates side by side)
LSTM = {"inputs": "x=N,D prev_h=N,H prev_c=N,H Wx=D,4H Wh=H,4H b=4H", "examples": 20,
        "oracles": ["finite-diff"]}


def test_a_pair_of_two_outputs_is_judged_on_both():
    # Before: exit 1, "INVALID OUTPUT ... returned (next_h, next_c, cache); expected (out, cache)".
    cert = gradcert.check(f"{SEQUENCES}:lstm_step", **LSTM)
    assert cert.certified, cert.failure


def test_a_backward_that_drops_one_outputs_gradient_is_caught():
    cert = gradcert.check(f"{SEQUENCES}:lstmnocarry_step", **LSTM)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


@pytest.mark.parametrize("target, code", [(EMBEDDING, 0), (EMBEDDING_BUGGY, 1)])
def test_an_input_used_as_indices_is_found_and_drawn_as_integers(target, code):
    # Declared as floats ("x=N,T"), x crashes W[x]; taken as integers below W's V rows, with a note.
    # The zoo checks the declared form ("x=N,T:int<V W=V,D") on the same pair.
    cert = gradcert.check(target, inputs="x=N,T W=V,D", **FAST)
    assert cert.exit_code == code, (cert.verdict, cert.failure)
    assert cert.tensors == ["dW"] and any("x of integers below W's first size" in n for n in cert.notes)


def test_drawn_indices_repeat_and_stay_below_their_bound():
    from gradcert.properties.candidates.blackbox import ShapeCase, drawn_indices

    for seed in range(20):
        x = drawn_indices(ShapeCase({}, seed), (2, 3), 0, 4)
        assert x.dtype.kind == "i" and 0 <= x.min() and x.max() < 4 and len(set(x.flat)) < x.size


def test_an_integer_input_is_declared_as_letters_below_a_bound():
    from gradcert.properties.errors import UsageError

    assert gradcert.check(EMBEDDING, inputs="x=N,T:int<V W=V,D", examples=3).certified
    for bad in ("x=N,T:int< W=V,D", "x=N,T:int<0 W=V,D", "x=N,T:int W=V,D"):
        with pytest.raises(UsageError, match="LETTERS:int<BOUND"):
            gradcert.check(EMBEDDING, inputs=bad, examples=3)
    with pytest.raises(UsageError, match="every input"):
        gradcert.check(EMBEDDING, inputs="x=N,T:int<V W=V,D:int<3", examples=3)
    with pytest.raises(UsageError, match="a function pair's"):  # a model's X: its labels are drawn
        gradcert.check(f"{ROOT}/tests/zoo/styles/cs231n_models.py:TwoLayerNet", inputs="X=N,5:int<3",
                       init={"input_dim": 5, "hidden_dim": 4, "num_classes": 3})


def test_rows_assigned_at_repeated_indices_are_told_from_rows_added_up():
    import numpy as np
    from gradcert.properties.candidates.signatures import assigned_at

    x, dout = np.array([[2, 0, 2]]), np.arange(1.0, 7.0).reshape(1, 3, 2)
    added, assigned = np.zeros((3, 2)), np.zeros((3, 2))
    np.add.at(added, x, dout)
    assigned[x] += dout  # buffered: the last occurrence of 2 is kept
    assert assigned_at(assigned, x, dout) and not assigned_at(added, x, dout)
    assert not assigned_at(2 * added, x, dout) and not assigned_at(added, np.array([[2, 0, 1]]), dout)


def test_a_loss_function_of_a_batchs_names_is_driven():
    # softmax_loss(W, X_batch, y_batch, reg): before, exit 2 (its names were not recognised).
    cert = gradcert.check(f"{STRENGTHS}:softmax_loss_batch", examples=20)
    assert cert.certified, cert.failure


BINARY = f"{ROOT}/tests/candidates/binary_loss.py"


def test_a_binary_loss_of_one_score_per_example_gets_labels_0_or_1():
    # Before: exit 1, CRASHED (rows of scores (N, D) broke its backward; with --shape N, labels >= 2
    # broke its forward).  Its 1e-7 guard is found on these scores too.
    cert = gradcert.check(f"{BINARY}:SigmoidWithLoss", **FAST)
    assert cert.certified, cert.failure
    assert any("one score per example (N,) with labels 0 or 1" in n for n in cert.notes), cert.notes
    cert = gradcert.check(f"{BINARY}:SigmoidWithLossSummed", **FAST)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)


def test_a_size_a_multiple_of_a_drawn_one_is_drawn_so():
    from gradcert.properties.candidates.blackbox import base_letter, shape_of
    from gradcert.properties.errors import UsageError

    assert shape_of(("N", "4H", "3"), {"N": 2, "H": 5}) == (2, 20, 3)
    assert [base_letter(c) for c in ("4H", "H", "12", "H4")] == ["H", "H", "12", "H4"]
    with pytest.raises(UsageError, match="give sizes as letters or numbers"):
        gradcert.check(f"{SEQUENCES}:lstm_step", inputs="x=N,D prev_h=N,H prev_c=N,H Wx=D,4*H Wh=H,4H b=4H")
