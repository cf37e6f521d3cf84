"""`paired_bootstrap`: one model's score minus another's on the same texts, and how sure that difference is."""

import numpy as np
import pytest

import mtkeras
from mtkeras.evaluation import TaskItems, paired_bootstrap

TAGS = ["O", "B-city", "I-city", "B-date", "I-date"]


def random_tags(rng, texts=200, labels=TAGS, cut=True):
    """Token items of any shape: I- without B-, unlabelled words, predictions cut short (past max_words), gold
    tags the model does not know (-1), read from the ids or, for half the texts, given as the data named them."""
    before, after = TaskItems(), TaskItems()
    for _ in range(texts):
        size = int(rng.integers(1, 9))
        gold, mask = rng.integers(-1, len(labels), size).astype(np.int32), rng.random(size) > 0.1
        given = [labels[g] if g >= 0 else "B-festival" for g in gold] if rng.random() < 0.5 else None
        for items in (before, after):
            items.gold.append(gold)
            items.mask.append(mask)
            items.gold_names.append(given)
            items.pred.append(rng.integers(0, len(labels), int(rng.integers(0, size + 1)) if cut else size)
                              .astype(np.int32))
    return before, after


def classes(gold, pred):
    return TaskItems(gold=list(gold), pred=list(pred), mask=[None] * len(gold), gold_names=[None] * len(gold))


def test_the_counts_of_each_text_add_up_to_the_report_s_score():
    rng = np.random.default_rng(0)
    tagger = mtkeras.TokenTagging("slots", TAGS)
    items, _ = random_tags(rng)
    counts = tagger.text_counts(items)
    assert counts.shape == (200, 3)
    assert tagger.score_of_counts(counts.sum(axis=0)) == pytest.approx(tagger.score_items(items)["f1"], abs=1e-12)
    classifier = mtkeras.SentenceClassification("intent", ["a", "b", "c"])
    gold = list(rng.integers(-1, 3, 300))  # -1: a label the model does not know, never right
    items = classes(gold, rng.integers(0, 3, 300))
    counts = classifier.text_counts(items)
    assert classifier.score_of_counts(counts.sum(axis=0)) == pytest.approx(classifier.score_items(items)["accuracy"])
    assert classifier.text_counts(classes([], [])).shape == (0, 2)
    labels = mtkeras.MultiLabelClassification("topics", ["sport", "art", "food"])
    items = classes(list(rng.random((300, 3)) < 0.3), list(rng.random((300, 3)) < 0.3))
    counts = labels.text_counts(items)
    assert labels.score_of_counts(counts.sum(axis=0)) == pytest.approx(labels.score_items(items)["micro_f1"])


def test_a_difference_by_hand():
    task = mtkeras.SentenceClassification("intent", ["a", "b"])
    gold = [0, 1] * 50
    before = classes(gold, [1 - g for g in gold[:10]] + gold[10:])  # 10 of 100 wrong
    after = classes(gold, [1 - gold[0]] + gold[1:])  # 1 wrong, one of the 10
    result = paired_bootstrap(task, before, after, samples=500)
    assert result["metric"] == "accuracy" and result["texts"] == 100 and result["samples"] == 500
    assert (result["before"], result["after"]) == (pytest.approx(0.90), pytest.approx(0.99))
    assert result["difference"] == pytest.approx(0.09)
    # `after` is right wherever `before` is: no draw of the texts can put it below.
    assert result["share_below_zero"] == 0.0 and 0.0 <= result["low"] < 0.09 < result["high"]
    same = paired_bootstrap(task, before, before)
    assert (same["difference"], same["low"], same["high"], same["share_below_zero"]) == (0.0, 0.0, 0.0, 0.0)
    assert same["share_tied"] == 1.0
    swapped = paired_bootstrap(task, after, before, samples=500)
    assert (swapped["low"], swapped["high"]) == (pytest.approx(-result["high"]), pytest.approx(-result["low"]))
    assert swapped["share_below_zero"] == 1.0


def test_the_interval_is_as_wide_as_the_texts_on_which_the_models_differ_make_it():
    """Two models that agree on most texts: the paired difference spreads by sqrt(discordant share / texts), the
    95 % interval about ±1.96 of it; drawing each model's texts apart would spread it by sqrt(2 p (1 - p) / texts),
    more than twice as much here."""
    rng = np.random.default_rng(1)
    task = mtkeras.SentenceClassification("sentiment", ["negative", "positive"])
    gold = rng.integers(0, 2, 2000)
    right_before = rng.random(2000) < 0.83
    right_after = np.where(rng.random(2000) < 0.05, ~right_before, right_before)  # 5 % of the answers change
    before = classes(gold, np.where(right_before, gold, 1 - gold))
    after = classes(gold, np.where(right_after, gold, 1 - gold))
    result = paired_bootstrap(task, before, after, samples=2000)
    paired = np.sqrt(np.mean(right_before != right_after) / 2000)
    assert (result["high"] - result["low"]) / 2 == pytest.approx(1.96 * paired, rel=0.1)
    assert 1.96 * np.sqrt(2 * 0.83 * 0.17 / 2000) > 2 * (result["high"] - result["low"]) / 2
    assert result["low"] < result["difference"] < result["high"]
    assert result["draws_without_score"] == 0


def test_a_score_that_is_no_sum_over_texts_is_scored_draw_by_draw():
    rng = np.random.default_rng(2)
    tagger = mtkeras.TokenTagging("slots", TAGS)
    before, after = random_tags(rng, texts=60)

    class Unsummed(mtkeras.TokenTagging):  # the same scores, without counts per text
        def text_counts(self, items):
            return None

    fast = paired_bootstrap(tagger, before, after, samples=200, seed=3)
    slow = paired_bootstrap(Unsummed("slots", TAGS), before, after, samples=200, seed=3)
    assert fast == pytest.approx(slow, abs=1e-12)
    # A kind without counts, such as regression's Pearson correlation, is compared all the same.
    gold = rng.normal(size=80)
    near, far = gold + rng.normal(scale=0.3, size=80), gold + rng.normal(scale=1.0, size=80)
    regression = mtkeras.Regression("quality")
    result = paired_bootstrap(regression, classes(gold, far), classes(gold, near), samples=200)
    assert result["metric"] == "pearson" and result["difference"] > 0 and result["low"] > 0
    # On 3 texts some draws repeat one text: no correlation there. They are left out and counted.
    few = paired_bootstrap(regression, classes(gold[:3], far[:3]), classes(gold[:3], near[:3]), samples=200)
    assert 0 < few["draws_without_score"] < 200 and np.isfinite([few["low"], few["high"]]).all()


def test_different_texts_are_refused_with_their_place():
    task = mtkeras.SentenceClassification("intent", ["a", "b"])
    with pytest.raises(ValueError, match="'intent' has 3 labelled texts before and 2 after"):
        paired_bootstrap(task, classes([0, 1, 1], [0, 1, 1]), classes([0, 1], [0, 1]))
    with pytest.raises(ValueError, match="'intent', labelled text 1: the gold differ"):
        paired_bootstrap(task, classes([0, 1, 1], [0, 1, 1]), classes([0, 0, 1], [0, 1, 1]))
    named = classes([0, 1, 1], [0, 1, 1])
    named.gold_names[2] = "c"  # a label the model does not know, named by the data
    with pytest.raises(ValueError, match="labelled text 2: the gold_names differ"):
        paired_bootstrap(task, classes([0, 1, 1], [0, 1, 1]), named)
    with pytest.raises(ValueError, match="samples"):
        paired_bootstrap(task, classes([0], [0]), classes([0], [0]), samples=0)
    with pytest.raises(ValueError, match="no labelled texts"):
        paired_bootstrap(task, classes([], []), classes([], []))
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap(task, classes([0], [0]), classes([0], [0]), level=95)
