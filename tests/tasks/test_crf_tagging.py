"""TokenTagging(crf=True): a linear-chain CRF trained on sequence likelihood, saved, exported and configured."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from mtkeras import names
from mtkeras.runs import ConfigError, parse_config
from mtkeras.data import make_dataset
from mtkeras.export import export_saved_model
from mtkeras.heads import TokenClassificationHead
from helpers.bio_oracles import is_valid_bio
from mtkeras.ops.bio import decode_bio
from mtkeras.ops.crf import crf_log_likelihood, crf_marginals, crf_scores
from mtkeras.runs import declare_tasks
from mtkeras.training import MaskedCRFLoss, MaskedLossMean, MaskedSparseCategoricalCrossentropy
from mtkeras.training.precision import set_mixed_precision


def crf_marginals_numpy(emissions, length, transitions, start, end):
    """Reference marginals `[length, C]` of one text, by enumerating every tag sequence."""
    emissions = np.asarray(emissions, np.float64)[:length]
    totals = np.zeros([length, emissions.shape[-1]])
    for tags in itertools.product(range(emissions.shape[-1]), repeat=length):
        score = start[tags[0]] + end[tags[-1]] + sum(emissions[t, tag] for t, tag in enumerate(tags))
        score += sum(transitions[a, b] for a, b in zip(tags, tags[1:]))
        for t, tag in enumerate(tags):
            totals[t, tag] += np.exp(score)
    return totals / totals.sum(axis=1, keepdims=True)


def crf_log_likelihood_numpy(emissions, tags, labelled, transitions, start, end):
    """Reference `log p(labelled tags | text)` of one text, by enumerating every tag sequence."""
    length, num_tags = len(tags), emissions.shape[-1]
    if length == 0:
        return 0.0

    def score(seq):
        total = start[seq[0]] + end[seq[-1]] + sum(emissions[t, tag] for t, tag in enumerate(seq))
        return total + sum(transitions[a, b] for a, b in zip(seq, seq[1:]))

    every = list(itertools.product(range(num_tags), repeat=length))
    agreeing = [seq for seq in every if all(seq[t] == tags[t] for t in range(length) if labelled[t])]
    return float(np.logaddexp.reduce([score(s) for s in agreeing]) - np.logaddexp.reduce([score(s) for s in every]))


def random_crf(rng, batch=4, steps=5, tags=3):
    return (
        rng.normal(size=(batch, steps, tags)).astype(np.float32) * 2,
        rng.normal(size=(tags, tags)).astype(np.float32) * 2,
        rng.normal(size=(tags,)).astype(np.float32),
        rng.normal(size=(tags,)).astype(np.float32),
    )


def test_marginals_equal_the_sum_over_every_tag_sequence():
    rng = np.random.default_rng(0)
    for trial in range(5):
        emissions, transitions, start, end = random_crf(rng)
        lengths = np.array([5, 3, 1, 0])
        mask = np.arange(5)[None, :] < lengths[:, None]
        got = crf_marginals(emissions, mask, transitions, start, end).numpy()
        for b, length in enumerate(lengths):
            if length:
                want = crf_marginals_numpy(emissions[b], length, transitions, start, end)
                np.testing.assert_allclose(got[b, :length], want, atol=1e-5)
            # Past the text's end: the emissions' softmax, a distribution.
            np.testing.assert_allclose(got[b, length:], tf.nn.softmax(emissions[b, length:]).numpy(), atol=1e-6)
        np.testing.assert_allclose(got.sum(axis=-1), 1.0, atol=1e-5)


def test_log_likelihood_equals_enumeration_and_sums_over_unlabelled_words():
    rng = np.random.default_rng(5)
    for trial in range(3):
        emissions, transitions, start, end = random_crf(rng, batch=5)
        lengths = np.array([5, 4, 1, 0, 3])
        mask = np.arange(5)[None, :] < lengths[:, None]
        tags = rng.integers(0, 3, size=(5, 5))
        labelled = mask.copy()
        labelled[1, 1] = labelled[1, 3] = False  # partly labelled
        labelled[4] = False  # not labelled at all
        got = crf_log_likelihood(emissions, tags, labelled, mask, transitions, start, end).numpy()
        for b, length in enumerate(lengths):
            want = crf_log_likelihood_numpy(emissions[b, :length], tags[b, :length], labelled[b, :length],
                                            transitions, start, end)
            assert got[b] == pytest.approx(want, abs=1e-4), (trial, b)
        assert got[3] == 0.0 and got[4] == 0.0  # no words; no labelled word
        assert np.all(got[:3] < 0)


def crf_batch(rng, tags=3):
    """A CRF head with random scores on a batch of 4 texts and its output."""
    head = TokenClassificationHead(tags, dropout=0.0, crf=True)
    encoded = {
        "sequence_output": tf.constant(rng.normal(size=(4, 4, 6)), tf.float32),
        "pooled_output": tf.zeros([4, 6]),
        "padding_mask": tf.constant(np.arange(4)[None, :] < np.array([4, 2, 3, 1])[:, None]),
    }
    head(encoded)
    head.transitions.assign(rng.normal(size=(tags, tags)).astype(np.float32))
    head.start_scores.assign(rng.normal(size=(tags,)).astype(np.float32))
    return head, encoded


def test_the_crf_loss_is_the_mean_sequence_likelihood_over_labelled_words():
    rng = np.random.default_rng(6)
    head, encoded = crf_batch(rng)
    mask = encoded["padding_mask"].numpy()
    tags = rng.integers(0, 3, size=(4, 4))
    weights = mask.astype(np.float32)
    weights[2] = 0.0  # text 2 has no label for the task
    emissions = head.dense(encoded["sequence_output"]).numpy()
    scores = [v.numpy() for v in (head.transitions, head.start_scores, head.end_scores)]
    want = -sum(crf_log_likelihood_numpy(emissions[b, : mask[b].sum()], tags[b, : mask[b].sum()],
                                         [True] * mask[b].sum(), *scores) for b in (0, 1, 3)) / weights.sum()
    loss = MaskedCRFLoss()
    assert float(loss(tags, head(encoded), weights)) == pytest.approx(want, rel=1e-5)
    # The exact loss metric agrees, also fed one text at a time (texts of different lengths).
    metric = MaskedLossMean(loss)
    for b in range(4):
        one = {key: value[b : b + 1] for key, value in encoded.items()}
        metric.update_state(tags[b : b + 1], head(one), weights[b : b + 1])
    assert float(metric.result()) == pytest.approx(want, rel=1e-5)

    # No labelled word: the loss is 0 and moves no weight.
    with tf.GradientTape() as tape:
        value = loss(tags, head(encoded), np.zeros_like(weights))
    assert float(value) == 0.0
    assert all(float(tf.reduce_sum(tf.abs(g))) == 0.0 for g in tape.gradient(value, head.trainable_weights))


def test_the_crf_loss_trains_transitions_and_emissions():
    rng = np.random.default_rng(7)
    head, encoded = crf_batch(rng)
    tags = rng.integers(0, 3, size=(4, 4))
    with tf.GradientTape() as tape:
        value = MaskedCRFLoss()(tags, head(encoded), encoded["padding_mask"])
    grads = dict(zip([w.path.split("/")[-1] for w in head.trainable_weights],
                     tape.gradient(value, head.trainable_weights)))
    for name in ("kernel", "transitions", "start_scores", "end_scores"):
        assert np.abs(grads[name].numpy()).sum() > 0, name


def test_the_crf_loss_refuses_an_output_without_crf_scores():
    probs = TokenClassificationHead(3, dropout=0.0)(
        {"sequence_output": tf.ones([1, 2, 4]), "pooled_output": tf.ones([1, 4]),
         "padding_mask": tf.constant([[True, True]])})
    assert crf_scores(probs) is None
    with pytest.raises(ValueError, match=r"CRF head's output .*crf=True.*shape \(1, 2, 3\)"):
        MaskedCRFLoss()(tf.constant([[0, 1]]), probs)


def test_label_smoothing_does_not_apply_to_a_crf():
    with pytest.raises(ValueError, match=r"Task 'ner': `label_smoothing` does not apply with crf=True.*0.1"):
        mtkeras.TokenTagging("ner", ["O", "B-x", "I-x"], crf=True, label_smoothing=0.1)
    assert isinstance(mtkeras.TokenTagging("ner", ["O", "B-x", "I-x"], crf=True).loss(), MaskedCRFLoss)


def test_marginals_in_a_graph_of_unknown_batch_length_and_tags():
    spec = [
        tf.TensorSpec([None, None, None], tf.float32),
        tf.TensorSpec([None, None], tf.bool),
        tf.TensorSpec([None, None], tf.float32),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([None], tf.float32),
    ]
    traced = tf.function(crf_marginals, input_signature=spec)
    rng = np.random.default_rng(1)
    emissions, transitions, start, end = random_crf(rng, batch=2, steps=4, tags=4)
    mask = np.array([[True] * 4, [True, True, False, False]])
    np.testing.assert_allclose(
        traced(emissions, mask, transitions, start, end), crf_marginals(emissions, mask, transitions, start, end),
        atol=1e-6,
    )
    for steps in (0, 1):  # no words in the batch; one word
        out = traced(emissions[:, :steps], mask[:, :steps], transitions, start, end)
        assert out.shape == (2, steps, 4)
    # One word: its marginal is the softmax of start + emission + end.
    one = traced(emissions[:, :1], mask[:, :1], transitions, start, end).numpy()
    np.testing.assert_allclose(one[:, 0], tf.nn.softmax(emissions[:, 0] + start + end).numpy(), atol=1e-6)


def test_the_crf_head_starts_as_the_per_word_softmax_and_its_transitions_matter():
    rng = np.random.default_rng(2)
    encoded = {
        "sequence_output": tf.constant(rng.normal(size=(2, 3, 6)), tf.float32),
        "pooled_output": tf.constant(rng.normal(size=(2, 6)), tf.float32),
        "padding_mask": tf.constant([[True, True, True], [True, True, False]]),
    }
    plain = TokenClassificationHead(4, dropout=0.0)
    crf = TokenClassificationHead(4, dropout=0.0, crf=True)
    plain(encoded)
    crf(encoded)
    crf.dense.set_weights(plain.dense.get_weights())
    np.testing.assert_allclose(crf(encoded), plain(encoded), atol=1e-6)
    assert {w.path.split("/")[-1] for w in crf.weights} >= {"transitions", "start_scores", "end_scores"}
    crf.transitions.assign(rng.normal(size=(4, 4)).astype(np.float32))
    assert not np.allclose(crf(encoded), plain(encoded), atol=1e-3)


def test_a_gold_tag_with_a_vanishing_marginal_still_gets_a_gradient():
    # Transitions that make tag 1 after any tag all but impossible: the gold
    # sequence's second marginal underflows far below Keras' 1e-7 clipping.
    head = TokenClassificationHead(2, dropout=0.0, crf=True)
    encoded = {
        "sequence_output": tf.constant([[[1.0, 0.0], [0.0, 1.0]]]),
        "pooled_output": tf.zeros([1, 2]),
        "padding_mask": tf.constant([[True, True]]),
    }
    head(encoded)
    head.dense.set_weights([np.array([[5.0, 0.0], [0.0, 0.0]], np.float32), np.zeros([2], np.float32)])
    head.transitions.assign([[0.0, -40.0], [0.0, -40.0]])
    loss = MaskedSparseCategoricalCrossentropy()

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            value = loss(tf.constant([[0, 1]]), head(encoded))
        return value, tape.gradient(value, [head.transitions, head.start_scores, head.end_scores])

    value, grads = gradients()
    assert value.numpy() > 17  # past -log(1e-7): the clipped loss would stop at 16.1
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert grads[0].numpy()[0, 1] < 0  # the gold transition is pushed up
    assert np.abs(grads[1].numpy()).sum() > 0 and np.abs(grads[2].numpy()).sum() > 0


def test_the_crf_head_keeps_its_scores_in_float32_under_mixed_precision():
    set_mixed_precision("mixed_float16")
    try:
        head = TokenClassificationHead(3, dropout=0.0, crf=True)
        encoded = {
            "sequence_output": tf.constant(np.random.default_rng(3).normal(size=(2, 4, 5)), tf.float16),
            "pooled_output": tf.ones([2, 5], tf.float16),
            "padding_mask": tf.constant([[True] * 4, [True, False, False, False]]),
        }
        head(encoded)
        # Scores near 2000, where float16 steps by 1: read as float16, they
        # would change the marginals.
        transitions = 2000 + np.random.default_rng(4).uniform(0, 1, size=(3, 3)).astype(np.float32)
        head.transitions.assign(transitions)
        out = head(encoded)
        assert out.dtype == tf.float32 and head.transitions.dtype == "float32"
        want = crf_marginals(head.dense(encoded["sequence_output"]), encoded["padding_mask"], transitions,
                             np.zeros(3, np.float32), np.zeros(3, np.float32))
        np.testing.assert_allclose(out.numpy(), want.numpy(), atol=1e-5)
    finally:
        set_mixed_precision("float32")


@pytest.fixture(scope="module")
def crf_model():
    """The tiny three-task model with CRF slots, trained until it fits the tiny data."""
    examples = tiny_examples()
    tasks = tiny_tasks(examples)
    tasks[1] = mtkeras.TokenTagging.from_examples("slots", examples, dropout=0.0, crf=True)
    model = build_tiny_model(examples, tasks=tasks)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(make_dataset(examples, model.tasks, batch_size=8, shuffle=True, seed=1), epochs=30, verbose=0)
    return model, examples


def test_the_logged_crf_loss_is_the_sequence_likelihood_of_the_data(crf_model):
    model, examples = crf_model
    data = make_dataset(examples, model.tasks, batch_size=5)
    logged = model.evaluate(data, verbose=0, return_dict=True)["slots_loss"]
    total, words = 0.0, 0.0
    for x, y, w in data:
        emissions, mask, *scores, _ = crf_scores(model(x)["slots"])  # log Z recomputed here
        labels, weights = y["slots"].numpy(), w["slots"].numpy()
        steps = emissions.shape[1]
        labelled = weights[:, :steps] > 0
        total -= float(tf.reduce_sum(crf_log_likelihood(emissions, labels[:, :steps], labelled, mask, *scores)))
        words += labelled.sum()
    assert words > 0 and logged == pytest.approx(total / words, rel=1e-5)


def test_training_learns_which_tags_may_follow_which(crf_model):
    model, examples = crf_model
    task = model.tasks[1]
    transitions = model.get_layer("slots").transitions.numpy()
    # The data never puts I-x after O: training makes that transition score
    # lower than I-x after B-x, for every entity type with a continuation.
    checked = 0
    for ex in examples:
        tags = ex.labels.get("slots") or ()
        for previous, tag in zip(tags, tags[1:]):
            if tag.startswith("I-") and previous == "B-" + tag[2:]:
                i_x = task.labels.index(tag)
                assert transitions[task.labels.index("O"), i_x] < transitions[task.labels.index(previous), i_x]
                checked += 1
    assert checked > 0
    report = mtkeras.evaluate(model, examples, print_table=False)
    assert report["slots"]["f1"] > 0.9


def test_a_crf_model_round_trips_through_a_keras_file_and_exports(crf_model, tmp_path):
    model, _ = crf_model
    texts = ["book a table in paris", "play jazz", ""]
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.tasks == model.tasks and loaded.tasks[1].crf
    np.testing.assert_allclose(loaded.predict(texts, verbose=0)["slots"], model.predict(texts, verbose=0)["slots"],
                               atol=1e-6)

    version = export_saved_model(model, str(tmp_path / "saved_models" / "tiny"))
    out = tf.saved_model.load(version).signatures[names.SERVING_SIGNATURE](text=tf.constant(texts))
    probs, lengths = model.predict(texts, verbose=0)["slots"], out[names.LENGTHS].numpy()
    exported = out[names.probs_key("slots")].numpy()
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(exported[row, :length], probs[row, :length], atol=1e-5)
    # Tags: the constrained Viterbi over the CRF marginals.
    want = decode_bio(probs, lengths, model.tasks[1].labels).numpy()
    for row, length in enumerate(lengths):
        tags = [tag.decode() for tag in out[names.tags_key("slots")].numpy()[row, :length]]
        assert tags == [model.tasks[1].labels[i] for i in want[row, :length]]
        assert is_valid_bio(tags)


CONFIG = """\
name: crf
tasks:
  intent: {kind: sentence_classification}
  slots: {kind: token_tagging, crf: true}
datasets:
  assistant:
    reader: joint_nlu
    train: data/assistant/train
    tasks: {intent: label, slots: tags}
"""


def test_the_config_turns_the_crf_on_for_token_tasks_only():
    config = parse_config(CONFIG, "cfg.yaml")
    assert config.tasks["slots"].crf is True
    slots = {task.name: task for task in declare_tasks(config, tiny_examples())}["slots"]
    assert slots.crf and slots.build_head().crf
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace("{kind: sentence_classification}", "{kind: sentence_classification, crf: true}"),
                     "cfg.yaml")
    assert "cfg.yaml:3: tasks.intent.crf: does not apply to kind 'sentence_classification'" in str(caught.value)
