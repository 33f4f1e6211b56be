"""A recurrent layer's state beside its parameters (Deep Learning from Scratch 2's TimeRNN): its last
hidden state ``h``, which every forward writes anew, is no parameter, and the ``dh`` beside it no
gradient gradcert judges.  Before, h was taken for a parameter and dh for its gradient, against a
forward that resets h: a false "gradient bug" on correct code.  And --init rows of numbers under an
RNN's names (Wx, Wh) reach the constructor as arrays, as the refusal's advice says to give them
(before, as lists: a crash verdict)."""

import gradcert

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
FILE = f"{ROOT}/tests/candidates/recurrent.py"
RNN = {"shape": "N,T,D", "dims": {"N": 2, "T": 3, "D": 3}, "examples": 8, "oracles": ["finite-diff"]}
INIT = {"Wx": [[0.8, -0.3], [-0.26, -0.54], [0.43, -1.15]], "Wh": [[-0.2, -0.03], [-1.07, 0.82]],
        "b": [0.89, 0.22]}


def test_a_recurrent_layers_state_is_not_taken_for_a_parameter():
    cert = gradcert.check(f"{FILE}:TimeRNN", init=INIT, **RNN)
    assert cert.certified, cert.failure
    assert any("state): h" in note for note in cert.notes), cert.notes


def test_a_recurrent_layer_with_a_wrong_parameter_gradient_is_still_caught():
    cert = gradcert.check(f"{FILE}:TimeRNNLastStepWh", init=INIT, **RNN)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
    assert cert.failure.first_disagreement["tensor"] == "grads[1]", cert.failure


def test_a_sequence_loss_layer_gets_labels_under_its_plural_name():
    # forward(xs, ts): before, exit 2 ("cannot tell what to pass as ts").
    cert = gradcert.check(f"{FILE}:TimeSoftmaxWithLoss", shape="N,T,D", examples=15, oracles=["finite-diff"])
    assert cert.certified, cert.failure
    cert = gradcert.check(f"{FILE}:TimeSoftmaxWithLossNotMean", shape="N,T,D", examples=15,
                          oracles=["finite-diff"])
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
