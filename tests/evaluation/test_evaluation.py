"""`mtkeras.evaluation`: metric helpers, and `evaluate` against hand computations."""

import logging
import math

import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples
from helpers.models import build_tiny_model
from mtkeras.data import Example, make_dataset
from mtkeras.evaluation import entity_errors, entity_scores, evaluate, macro_f1, pearson, rank, spearman
from helpers.bio_oracles import is_valid_bio, viterbi_decode_numpy
from mtkeras.ops.bio import bio_start_mask, bio_transition_mask
from mtkeras.text import WordPreprocessor


# === Metric helpers ===
def test_macro_f1_by_hand():
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "b"]
    # a: tp 1 fp 0 fn 1 -> 2/3; b: tp 1 fp 2 fn 0 -> 1/2; c: tp 0 fn 1 -> 0.
    assert macro_f1(gold, pred) == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    # Labels only predicted count too (d: fp 1 -> 0), labels in neither do not.
    assert macro_f1(["a", "a"], ["a", "d"]) == pytest.approx((2 / 3 + 0) / 2)
    assert macro_f1([1, 2], [1, 2]) == 1.0
    assert math.isnan(macro_f1([], []))


def test_macro_f1_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(20):
        gold, pred = rng.integers(0, 6, 40), rng.integers(0, 5, 40)
        labels = sorted(set(gold) | set(pred))
        expected = metrics.f1_score(gold, pred, average="macro", labels=labels, zero_division=0)
        assert macro_f1(gold.tolist(), pred.tolist()) == pytest.approx(expected)


def test_rank_pearson_spearman_by_hand():
    np.testing.assert_allclose(rank([10, 20, 20, 30]), [1, 2.5, 2.5, 4])
    np.testing.assert_allclose(rank([3, 1, 2]), [3, 1, 2])
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # x = [1, 2, 3, 4], y = [1, 3, 2, 4]: cov 4 / sqrt(5 * 5) = 0.8.
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # Monotone but not linear: Spearman 1, Pearson below 1.
    assert spearman([1, 2, 3, 4], [1, 8, 27, 1000]) == pytest.approx(1.0)
    assert pearson([1, 2, 3, 4], [1, 8, 27, 1000]) < 0.9
    # Ties: ranks [1, 2.5, 2.5, 4] against [1, 2, 3, 4].
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(pearson([1, 2.5, 2.5, 4], [1, 2, 3, 4]))
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3])) and math.isnan(spearman([5], [2]))
    with pytest.raises(ValueError):
        pearson([1, 2], [1, 2, 3])


def test_pearson_spearman_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.integers(0, 8, 30).astype(float)  # many ties
        y = x + rng.normal(size=30) * 3
        assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)


def test_entity_scores_by_hand():
    gold = [
        ["B-per", "I-per", "O", "B-loc"],
        ["B-loc", "I-loc", "O"],
        ["O", "B-per", "O"],
    ]
    pred = [
        ["O", "B-per", "I-per", "B-loc"],  # per straddles the gold per's end: wrong; loc right
        ["I-loc", "I-loc", "O"],  # conlleval reading: an I- after nothing starts an entity: right
        ["O", "B-loc", "O"],  # right span, wrong type
    ]
    scores = entity_scores(gold, pred)
    # gold 4 entities (per 2, loc 2), predicted 4, right 2.
    assert scores["precision"] == pytest.approx(2 / 4)
    assert scores["recall"] == pytest.approx(2 / 4)
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["per_type"] == {
        "loc": {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": pytest.approx(0.8), "support": 2},
        "per": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2},
    }
    empty = entity_scores([["O"]], [["O"]])
    assert (empty["f1"], empty["per_type"]) == (0.0, {})


def test_entity_errors_by_hand():
    gold = [
        ["B-per", "I-per", "O", "B-loc"],
        ["B-loc", "I-loc", "O"],
        ["O", "B-per", "O"],
        ["O", "O", "B-loc", "O"],
        ["B-per", "O", "B-loc"],
    ]
    pred = [
        ["O", "B-per", "I-per", "B-loc"],  # per: wrong span (overlaps, same type); loc right
        ["I-loc", "I-loc", "O"],  # right in the conlleval reading
        ["O", "B-loc", "O"],  # same words, wrong type
        ["B-per", "O", "O", "O"],  # gold loc missed; predicted per spurious
        ["B-loc", "O", "B-per"],  # two wrong types
    ]
    errors = entity_errors(gold, pred)
    assert errors == {
        "correct": 2,
        "wrong_type": 3,
        "wrong_span": 1,
        "missed": 1,
        "spurious": 1,
        "confusions": [["per", "loc", 2], ["loc", "per", 1]],
    }
    # Every gold entity has one outcome; `correct` are the true positives.
    assert sum(errors[k] for k in ("correct", "wrong_type", "wrong_span", "missed")) == 7
    assert errors["correct"] == pytest.approx(entity_scores(gold, pred)["recall"] * 7)
    assert entity_errors(gold, pred, top=1)["confusions"] == [["per", "loc", 2]]
    assert entity_errors([], [])["correct"] == 0
    with pytest.raises(ValueError, match="2 gold tag sequences against 1 predicted"):
        entity_errors(gold[:2], pred[:1])
    with pytest.raises(ValueError, match="text 1 has 3 gold tags and 2 predicted"):
        entity_errors(gold[:2], [pred[0], pred[1][:2]])
    # Tags other than B-x / I-x (here POS tags) are outside every entity.
    assert entity_errors([["DET", "DET"], ["X", "B-x"]], [["VERB", "X"], ["X", "ADJ"]]) == {
        "correct": 0, "wrong_type": 0, "wrong_span": 0, "missed": 1, "spurious": 0, "confusions": []
    }


def test_entity_errors_agree_with_seqeval_on_random_tags():
    rng = np.random.default_rng(0)
    tags = ["O", "B-a", "I-a", "B-b", "I-b", "B-a-b", "I-a-b"]
    for _ in range(30):
        gold = [list(rng.choice(tags, rng.integers(0, 8))) for _ in range(5)]
        pred = [list(rng.choice(tags, len(g))) for g in gold]
        errors = entity_errors(gold, pred)
        scores = entity_scores(gold, pred)
        support = sum(row["support"] for row in scores["per_type"].values())
        assert sum(errors[k] for k in ("correct", "wrong_type", "wrong_span", "missed")) == support
        assert errors["correct"] == round(scores["recall"] * support)
        predicted = round(errors["correct"] / scores["precision"]) if errors["correct"] else None
        if predicted is not None:  # spurious ones are a share of the predicted entities
            assert errors["spurious"] <= predicted - errors["correct"]


# === evaluate on a model with crafted outputs ===
TASKS = [
    mtkeras.SentenceClassification("intent", ["A", "B", "C"]),
    mtkeras.TokenTagging("slots", ["O", "B-x", "I-x", "B-y", "I-y"]),
    mtkeras.SentenceClassification("sentiment", ["neg", "pos"]),
]


class CraftedModel:
    """Stands in for a `MultiTaskModel`: fixed answers per text.

    `answers[text][task]` is a label (sentence task), a list of tags or a
    `[words, C]` probability array (token task); a missing answer is the
    first label / "O" everywhere.
    """

    def __init__(self, tasks, answers, max_words=None):
        self.tasks = tasks
        self.answers = answers
        self.preprocessor = WordPreprocessor(["unused"], max_words=max_words)
        self.predicted_texts = []

    def predict(self, texts, batch_size=None, verbose=0):
        self.predicted_texts += list(texts)
        _, lengths = self.preprocessor.tokenize(tf.constant(texts, tf.string, shape=[len(texts)]))
        lengths = lengths.numpy()
        steps = int(lengths.max(initial=0))
        outputs = {}
        for task in self.tasks:
            rows = []
            for text, length in zip(texts, lengths):
                answer = self.answers.get(text, {}).get(task.name)
                if isinstance(task, mtkeras.TokenTagging):
                    row = np.zeros([steps, task.num_labels], np.float32)
                    if isinstance(answer, np.ndarray):
                        row[:length] = answer[:length]
                    else:
                        for t, tag in enumerate((answer or ["O"] * length)[:length]):
                            row[t] = peaked(task, tag)
                else:
                    row = peaked(task, answer or task.labels[0])
                rows.append(row)
            outputs[task.name] = np.stack(rows).astype(np.float32)
        return outputs


def peaked(task, label):
    probs = np.full([task.num_labels], 0.1 / (task.num_labels - 1), np.float32)
    probs[task.labels.index(label)] = 0.9
    return probs


def example(text, **labels):
    labels = {name: tuple(value.split()) if name == "slots" else value for name, value in labels.items()}
    return Example(tuple(text.split()), labels, f"crafted:{text}")


# (example, the model's answers)
CRAFTED = [
    # 1. all right
    (example("w1 w2 w3", intent="A", slots="O B-x I-x"), {"intent": "A", "slots": "O B-x I-x"}),
    # 2. intent wrong
    (example("w4 w5", intent="A", slots="B-y O"), {"intent": "B", "slots": "B-y O"}),
    # 3. slots: the predicted x straddles the gold x's end (3 words wrong)
    (example("w6 w7 w8", intent="B", slots="B-x I-x O"), {"intent": "B", "slots": "O B-x I-x"}),
    # 4. sentiment only, right (the intent and slot answers are not scored)
    (example("w9 w10", sentiment="pos"), {"sentiment": "pos", "intent": "C", "slots": "B-x B-x"}),
    # 5. sentiment only, wrong
    (example("w11", sentiment="neg"), {"sentiment": "pos"}),
    # 6. no label at all: in no metric
    (example("w12 w13"), {"intent": "C", "slots": "B-y I-y"}),
    # 7. an intent and a slot tag outside the vocabularies: errors
    (example("w14 w15", intent="D", slots="B-z O"), {"intent": "A", "slots": "O O"}),
    # 8. slots only, right
    (example("w16 w17 w18", slots="B-x B-y I-y"), {"slots": "B-x B-y I-y"}),
]


def crafted_model(cases=CRAFTED, **kwargs):
    answers = {
        ex.text: {name: value.split() if name == "slots" else value for name, value in answer.items()}
        for ex, answer in cases
    }
    return CraftedModel(TASKS, answers, **kwargs)


def test_evaluate_crafted_case_by_hand(capsys):
    examples = [ex for ex, _ in CRAFTED]
    results = evaluate(crafted_model(), examples, print_table=False)
    assert capsys.readouterr().out == ""
    assert set(results) == {"intent", "slots", "sentiment", "sentence_accuracy"}

    # intent: texts 1, 2, 3, 7; gold A A B D(unknown), predicted A B B A.
    intent = results["intent"]
    assert intent["examples"] == 4
    assert intent["accuracy"] == pytest.approx(2 / 4)
    # A: tp 1 fp 1 fn 1 -> 1/2; B: tp 1 fp 1 -> 2/3; D: fn 1 -> 0.
    assert intent["macro_f1"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    # Rows gold, columns predicted; D is outside the labels: a trailing <unknown>.
    assert intent["confusion"] == {"labels": ["A", "B", "C", "<unknown>"],
                                   "matrix": [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]}

    # slots: texts 1, 2, 3, 7, 8 = 13 words; wrong: 3 in text 3, the unknown B-z.
    slots = results["slots"]
    assert slots["examples"] == 5
    assert slots["accuracy"] == pytest.approx(9 / 13)
    # gold entities: x x x y y z (6); predicted: x y x x y (5); right: 4.
    assert slots["precision"] == pytest.approx(4 / 5)
    assert slots["recall"] == pytest.approx(4 / 6)
    assert slots["f1"] == pytest.approx(2 * 4 / (5 + 6))
    assert slots["per_type"] == {
        "x": {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3), "f1": pytest.approx(2 / 3), "support": 3},
        "y": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2},
        "z": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
    }
    # Text 3's x overlaps the gold x with other words; text 7's z has no prediction.
    assert slots["errors"] == {
        "correct": 4, "wrong_type": 0, "wrong_span": 1, "missed": 1, "spurious": 0, "confusions": []
    }

    # sentiment: texts 4, 5.
    assert results["sentiment"].pop("confusion") == {"labels": ["neg", "pos"], "matrix": [[0, 1], [0, 1]]}
    # Both texts answered "pos" with probability 0.9, half of them right: one bin, |0.5 - 0.9|.
    assert results["sentiment"] == {"examples": 2, "accuracy": 0.5, "macro_f1": pytest.approx((2 / 3 + 0) / 2),
                                    "ece": pytest.approx(0.4)}

    # Texts with a label: all but 6; right: 1, 4, 8.
    assert results["sentence_accuracy"] == pytest.approx(3 / 7)


def test_a_dataset_gives_the_same_numbers_with_unknown_labels_merged():
    examples = [ex for ex, _ in CRAFTED]
    from_examples = evaluate(crafted_model(), examples, print_table=False)
    data = make_dataset(examples, TASKS, batch_size=3)
    model = crafted_model()
    from_dataset = evaluate(model, data, print_table=False)
    assert sorted(model.predicted_texts) == sorted(ex.text for ex in examples)
    # Only the unknown tag's name differs: the dataset has its id -1 only.
    per_type = dict(from_examples["slots"]["per_type"])
    per_type["<unknown>"] = per_type.pop("z")
    assert from_dataset["slots"]["per_type"] == per_type
    for task in ("intent", "sentiment"):
        assert from_dataset[task] == from_examples[task]
    for metric in ("examples", "accuracy", "precision", "recall", "f1", "errors"):
        assert from_dataset["slots"][metric] == from_examples["slots"][metric]
    assert from_dataset["sentence_accuracy"] == from_examples["sentence_accuracy"]


def test_unlabelled_items_change_nothing():
    cases = [case for case in CRAFTED if "sentiment" not in case[0].labels]
    extra = [
        (example(f"u{i} v{i} w{i}", sentiment="neg"), {"sentiment": "neg", "intent": "C", "slots": "I-y I-y I-x"})
        for i in range(5)
    ]
    base = evaluate(crafted_model(cases), [ex for ex, _ in cases], print_table=False)
    more = evaluate(crafted_model(cases + extra), [ex for ex, _ in cases + extra], print_table=False)
    assert more["intent"] == base["intent"] and more["slots"] == base["slots"]
    assert more["sentiment"]["examples"] == 5 and more["sentiment"]["accuracy"] == 1.0


def test_unknown_gold_never_matches_and_a_missing_prediction_is_an_error(caplog):
    """An unknown gold tag (-1) must not match a cut-off word (no prediction, -1)."""
    cases = [(example("a b c d", slots="O O B-x B-z"), {"slots": "O O"})]
    with caplog.at_level(logging.WARNING, logger="mtkeras"):
        results = evaluate(crafted_model(cases, max_words=2), [cases[0][0]], print_table=False)
    assert "2 labelled word(s) lie past the model's max_words" in caplog.text
    slots = results["slots"]
    assert slots["accuracy"] == pytest.approx(2 / 4)
    assert (slots["precision"], slots["recall"], slots["f1"]) == (0.0, 0.0, 0.0)
    assert slots["per_type"]["x"]["support"] == 1 and slots["per_type"]["z"]["support"] == 1
    assert results["sentence_accuracy"] == 0.0
    assert math.isnan(results["intent"]["accuracy"]) and results["intent"]["examples"] == 0


def test_decode_repairs_invalid_argmax_tags():
    # Word 2: argmax I-x after O; the best valid reading is O B-x (0.6 * 0.4 > 0.3 * 0.5).
    probs = np.array([[0.6, 0.3, 0.1, 0.0, 0.0], [0.1, 0.4, 0.5, 0.0, 0.0]], np.float32)
    cases = [(example("p q", slots="O B-x"), {"slots": probs})]
    model = CraftedModel(TASKS, {"p q": {"slots": probs}})
    decoded = evaluate(model, [cases[0][0]], print_table=False)["slots"]
    argmax = evaluate(model, [cases[0][0]], decode=False, print_table=False)["slots"]
    assert decoded["accuracy"] == 1.0 and decoded["f1"] == 1.0
    # Argmax "O I-x": word 2 is wrong, yet conlleval reads I-x as the x entity.
    assert argmax["accuracy"] == 0.5 and argmax["f1"] == 1.0


def test_print_table(capsys):
    evaluate(crafted_model(), [ex for ex, _ in CRAFTED], print_table=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["task", "metric", "value"]
    assert lines[1].split() == ["intent", "examples", "4"]
    assert lines[2].split() == ["accuracy", "0.5000"]
    assert ["slots", "examples", "5"] in [line.split() for line in lines]
    type_lines = [line for line in lines if line.split()[:1] == ["x"]]
    assert len(type_lines) == 1 and type_lines[0].startswith(" " * 20)
    assert type_lines[0].split() == ["x", "0.6667", "0.6667", "0.6667", "3"]
    assert " " * 20 + "   entities: 6 gold, 4 right, wrong type 0, wrong span 1, missed 1; 0 predicted where there is none" in lines
    assert not any("most confused types" in line for line in lines)


def test_print_table_names_the_most_confused_types(capsys):
    cases = [
        (example("w1 w2", slots="B-x O"), {"slots": "B-y O"}),
        (example("w3 w4", slots="B-x B-y"), {"slots": "B-y B-x"}),
    ]
    results = evaluate(crafted_model(cases), [ex for ex, _ in cases], print_table=True)
    assert results["slots"]["errors"]["confusions"] == [["x", "y", 2], ["y", "x", 1]]
    lines = capsys.readouterr().out.splitlines()
    assert " " * 20 + "   most confused types: x as y 2, y as x 1" in lines
    assert lines[-1].split() == ["(all", "tasks)", "sentence_accuracy", f"{results['sentence_accuracy']:.4f}"]


def test_bad_data_is_refused():
    model = crafted_model()
    data = make_dataset([ex for ex, _ in CRAFTED], TASKS, batch_size=4, repeat=True)
    with pytest.raises(ValueError, match="repeats forever"):
        evaluate(model, data, print_table=False)
    pairs = make_dataset([ex for ex, _ in CRAFTED], TASKS, batch_size=4).map(lambda x, y, w: (x, y))
    with pytest.raises(ValueError, match="sample_weights"):
        evaluate(model, pairs, print_table=False)


def test_a_new_task_kind_brings_its_own_scores():
    """A kind evaluates itself: `predict_items` and `score_items` are all `evaluate` asks of it."""

    class Score(mtkeras.tasks.ClassificationTask):
        kind = "test_score"

        def encode(self, value, num_words, source="", unknown="raise"):
            if value is None:
                return np.float32(0.0), np.float32(0.0)
            return np.float32(value), np.float32(1.0)

        def predict_items(self, outputs, lengths, decode=True):
            return list(outputs[:, 1])

        def score_items(self, items):
            return {"examples": len(items.gold), "pearson": pearson(items.gold, items.pred),
                    "spearman": spearman(items.gold, items.pred)}

    task = Score("quality", ["low", "high"])
    with pytest.raises(NotImplementedError):
        mtkeras.tasks.Task.predict_items(task, np.zeros([1, 2]), [1])
    gold = [0.1, 0.5, 0.2, 0.9]
    answers = {"a": 0.2, "b": 0.6, "c": 0.1, "d": 0.7}
    examples = [Example((text,), {"quality": value}) for text, value in zip("abcd", gold)]

    class ScoreModel(CraftedModel):
        def predict(self, texts, batch_size=None, verbose=0):
            return {"quality": np.array([[1 - answers[t], answers[t]] for t in texts], np.float32)}

    results = evaluate(ScoreModel([task], {}), examples, print_table=False)
    pred = [answers[t] for t in "abcd"]
    assert results["quality"]["pearson"] == pytest.approx(pearson(gold, pred), abs=1e-6)
    assert results["quality"]["spearman"] == pytest.approx(0.8)  # ranks 1 3 2 4 against 2 3 1 4
    assert math.isnan(results["sentence_accuracy"])  # a score is never "right": no text counts


# === evaluate on a real (untrained) tiny model ===
def test_tiny_model_by_hand(capsys):
    examples = tiny_examples()
    model = build_tiny_model(examples)
    intent, slots, sentiment = model.tasks
    results = evaluate(model, examples, batch_size=4)
    assert "sentence_accuracy" in capsys.readouterr().out

    out = model.predict([ex.text for ex in examples], verbose=0)
    assistant = [i for i, ex in enumerate(examples) if "intent" in ex.labels]
    feedback = [i for i, ex in enumerate(examples) if "sentiment" in ex.labels]

    # Sentence tasks: argmax against gold, over each task's labelled texts only.
    def sentence_truth(task, rows):
        gold = np.array([task.labels.index(examples[i].labels[task.name]) for i in rows])
        pred = out[task.name][rows].argmax(-1)
        f1s = []
        for label in set(gold) | set(pred):
            tp = np.sum((gold == label) & (pred == label))
            f1s.append(2 * tp / (np.sum(gold == label) + np.sum(pred == label)))
        return gold, pred, float(np.mean(f1s))

    gold_i, pred_i, f1_i = sentence_truth(intent, assistant)
    assert results["intent"]["examples"] == 9
    assert results["intent"]["accuracy"] == pytest.approx(np.mean(gold_i == pred_i))
    assert results["intent"]["macro_f1"] == pytest.approx(f1_i)
    gold_s, pred_s, f1_s = sentence_truth(sentiment, feedback)
    assert results["sentiment"]["accuracy"] == pytest.approx(np.mean(gold_s == pred_s))
    assert results["sentiment"]["macro_f1"] == pytest.approx(f1_s)

    # Slots: the numpy reference Viterbi on the model's probabilities.
    from seqeval.metrics import f1_score, precision_score, recall_score

    lengths = [len(examples[i].words) for i in assistant]
    decoded = viterbi_decode_numpy(
        out["slots"][assistant], lengths, bio_transition_mask(slots.labels), bio_start_mask(slots.labels)
    )
    gold_tags = [list(examples[i].labels["slots"]) for i in assistant]
    pred_tags = [[slots.labels[t] for t in decoded[k, :n]] for k, n in enumerate(lengths)]
    assert all(is_valid_bio(tags) for tags in pred_tags)
    words = [(g, p) for gs, ps in zip(gold_tags, pred_tags) for g, p in zip(gs, ps)]
    assert results["slots"]["accuracy"] == pytest.approx(np.mean([g == p for g, p in words]))
    assert results["slots"]["f1"] == pytest.approx(f1_score(gold_tags, pred_tags, zero_division=0))
    assert results["slots"]["precision"] == pytest.approx(precision_score(gold_tags, pred_tags, zero_division=0))
    assert results["slots"]["recall"] == pytest.approx(recall_score(gold_tags, pred_tags, zero_division=0))
    support = {"artist": 1, "city": 5, "condition": 1, "date": 2, "genre": 2, "party_size": 3, "time": 1}
    assert {k: v["support"] for k, v in results["slots"]["per_type"].items() if v["support"]} == support

    # Every labelled task of a text right.
    right = [
        pred_i[k] == gold_i[k] and gold_tags[k] == pred_tags[k] for k in range(len(assistant))
    ] + list(pred_s == gold_s)
    assert results["sentence_accuracy"] == pytest.approx(np.mean(right))

    # The same numbers from a bucketed, shuffled dataset.
    data = make_dataset(examples, model.tasks, batch_size=3, shuffle=True, bucket=True, seed=2)
    assert evaluate(model, data, print_table=False) == results
