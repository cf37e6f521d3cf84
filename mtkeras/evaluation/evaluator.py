"""Evaluation of a multi-task model on labelled data: one table, every task.

`evaluate(model, data)` runs the model on every text of `data` and scores each
task over the items labelled for it (texts, or words for token tasks; an item
with weight 0 counts in nothing). A label outside the task's vocabulary (id
-1, see `mtkeras.tasks.UNKNOWN_LABEL_ID`) counts as an error.

Each task's kind scores it (`Task.predict_items`, `Task.score_items`):

| task kind | metrics |
|---|---|
| `SentenceClassification` | `accuracy`, `macro_f1` (over the labels seen in gold or predictions), `confusion` |
| `TokenTagging` | `accuracy` (per word), entity-level `precision`, `recall`, `f1` and `per_type` (seqeval, conlleval reading); `errors`: gold entities of the wrong type, with wrong boundaries or missed, spurious ones, and the most confused types (`entity_errors`) |
| `MultiLabelClassification` | `exact_match`, `micro_f1`, `macro_f1` |
| `Regression` | `pearson`, `spearman`, `mae`, `mse` |

Every task also reports `examples`, the number of texts labelled for it. The
result's `sentence_accuracy` is the fraction of the texts with at least one
label whose every labelled task is right (a token task is right when all its
labelled words are; a kind without a right answer, such as a regression
score, takes no part).

Token tags are decoded with the constrained Viterbi of
`mtkeras.ops.bio` (`decode=True`, only valid BIO sequences) or
by per-word argmax (`decode=False`).

Example:
>>> results = mtkeras.evaluate(model, make_dataset(test, model.tasks, batch_size=64))
>>> results["slots"]["f1"], results["intent"]["accuracy"], results["sentence_accuracy"]
"""

import dataclasses
import logging

import numpy as np
import tensorflow as tf

from mtkeras.data import align_tags, make_dataset
from mtkeras.evaluation.table import format_table
from mtkeras.names import TEXT, TEXT_PAIR, TOKEN

logger = logging.getLogger("mtkeras")

# Texts run through the model per `model.predict` call.
_CHUNK_TEXTS = 1024


@dataclasses.dataclass
class TaskItems:
    """One task's labelled texts, gathered over the whole evaluation.

    `gold` / `pred` hold one entry per labelled text: a label id (sentence
    tasks; -1 unknown), or for token tasks an int array of ids over the
    text's words (gold -1 unknown; pred -1 for a word the model cut off at
    `max_words`). `mask` holds, for token tasks, which words are labelled.
    `gold_names` holds label strings when the data gave them (examples).
    """

    gold: list = dataclasses.field(default_factory=list)
    pred: list = dataclasses.field(default_factory=list)
    mask: list = dataclasses.field(default_factory=list)
    gold_names: list = dataclasses.field(default_factory=list)
    # The model's probabilities for each labelled text (`[C]`; token tasks `[words, C]` over its model words).
    probs: list = dataclasses.field(default_factory=list)


# === Data ===
def _as_dataset(data, tasks, batch_size):
    """`(dataset, gold label strings per example or None)`."""
    if isinstance(data, tf.data.Dataset):
        if data.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise ValueError("evaluate: the dataset repeats forever; build it with repeat=False")
        return data, None
    examples = list(data)
    if not examples:
        raise ValueError("evaluate: no examples")
    aligned = align_tags(examples, tasks)
    given = []
    for ex, (_, tags) in zip(examples, aligned):
        names = {}
        for task in tasks:
            if task.name in tags:
                names[task.name] = tags[task.name]
            elif task.name in ex.labels and task.level != TOKEN:
                names[task.name] = ex.labels[task.name]
        given.append(names)
    return make_dataset(examples, tasks, batch_size=batch_size, shuffle=False), given


def _rows(data, tasks):
    """Yields `({"text": str[, "text_pair": str]}, {task: (gold, weight)})` per example of `data`."""
    for element in data.as_numpy_iterator():
        if not (isinstance(element, tuple) and len(element) == 3):
            raise ValueError(
                "evaluate: dataset elements must be (features, labels, sample_weights), as "
                "mtkeras.data.make_dataset yields"
            )
        features, labels, weights = element
        missing = sorted(t.name for t in tasks if t.name not in labels or t.name not in weights)
        if missing:
            raise ValueError(f"evaluate: the dataset has no labels or weights for task(s) {missing}")
        inputs = [key for key in (TEXT, TEXT_PAIR) if key in features]
        for i in range(len(features[TEXT])):
            yield (
                {key: _decode(features[key][i]) for key in inputs},
                {t.name: (np.asarray(labels[t.name][i]), np.asarray(weights[t.name][i])) for t in tasks},
            )


def _decode(text):
    return text.decode("utf-8") if isinstance(text, bytes) else str(text)


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# === Evaluation ===
def evaluate(model, data, decode=True, print_table=True, batch_size=32):
    """Scores every task of `model` on `data`, over labelled items only.

    Args:
        model: a `MultiTaskModel`.
        data: a `tf.data.Dataset` from `mtkeras.data.make_dataset` (finite,
            elements `({"text"}, {task: ids}, {task: weights})`), or a list of
            `Example`, turned into one with the model's tasks. Examples keep
            the names of labels outside a task's vocabulary (entity types in
            `per_type`, classes in `macro_f1`); a dataset only has their id
            -1, read as the label `"<unknown>"`.
        decode: bool. Token tags by constrained BIO Viterbi (True) or argmax.
        print_table: bool. Print a table of the results.
        batch_size: int. Batch size of `model.predict` (and of the dataset
            built from examples).

    Returns:
        `{task_name: {metric: value}, "sentence_accuracy": value}`. Sentence
        tasks: `examples`, `accuracy`, `macro_f1` and `confusion`
        `{"labels": [...], "matrix": [[int]]}` (rows gold, columns predicted,
        in the order of `task.labels`, then `"<unknown>"` when a gold label
        is outside them; see `confusion_matrix`). Token tasks: `examples`,
        `accuracy` (per word), `precision`, `recall`, `f1` (entities) and
        `per_type` `{type: {precision, recall, f1, support}}` and `errors`
        (each gold entity as correct, of the wrong type, with wrong
        boundaries or missed, plus spurious entities; see `entity_errors`).
        A word past the
        model's `max_words` has no prediction: it is an error and predicts no
        entity. A value without items to score is `nan`.
    """
    items, sentence_right, sentence_total = collect_items(model, data, decode, batch_size)
    results = {task.name: task.score_items(items[task.name]) for task in model.tasks}
    results["sentence_accuracy"] = sentence_right / sentence_total if sentence_total else float("nan")
    if print_table:
        print(format_table(results))
    return results


def collect_items(model, data, decode=True, batch_size=32):
    """`({task: TaskItems}, texts all right, texts labelled)`: `evaluate`'s items before scoring.

    Each item keeps the model's probabilities (`probs`: `[C]` per text, or
    `[words, C]` over a token task's model words), so a task's decision can be
    scored again under other settings without running the model
    (`mtkeras.evaluation.calibrate`).
    """
    tasks = list(model.tasks)
    dataset, given = _as_dataset(data, tasks, batch_size)
    items = {task.name: TaskItems() for task in tasks}
    sentence_right = sentence_total = cut_words = 0
    index = 0
    for chunk in _chunks(_rows(dataset, tasks), _CHUNK_TEXTS):
        texts = [row[TEXT] for row, _ in chunk]
        if TEXT_PAIR in chunk[0][0]:
            inputs = {key: [row[key] for row, _ in chunk] for key in (TEXT, TEXT_PAIR)}
        else:
            inputs = texts
        outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
        _, lengths = model.preprocessor.tokenize(tf.constant(texts, tf.string, shape=[len(texts)]))
        lengths = lengths.numpy()
        predictions = {
            task.name: task.predict_items(outputs[task.name], lengths, decode) for task in tasks
        }
        for row, (_, labels) in enumerate(chunk):
            names = given[index] if given is not None else {}
            index += 1
            all_right, labelled_any = True, False
            for task in tasks:
                gold, weight = labels[task.name]
                mask = weight > 0
                if not mask.any():
                    continue
                pred = predictions[task.name][row]
                task_items = items[task.name]
                if task.level == TOKEN:  # the words up to the last labelled one
                    size = int(np.flatnonzero(mask)[-1]) + 1
                    gold, mask = gold[:size], mask[:size]
                    cut_words += int(np.sum(mask[len(pred) :]))
                elif gold.ndim == 0:
                    gold = gold.item()
                task_items.gold.append(gold)
                task_items.pred.append(pred)
                task_items.mask.append(mask)
                task_items.gold_names.append(names.get(task.name))
                # Copies: a view would keep the whole chunk's outputs alive until the scores are done.
                task_items.probs.append(np.array(outputs[task.name][row][: len(pred)] if task.level == TOKEN
                                                 else outputs[task.name][row]))
                right = task.item_is_right(gold, pred, mask)
                if right is not None:  # kinds without a right answer stay out
                    labelled_any = True
                    all_right = all_right and right
            if labelled_any:
                sentence_total += 1
                sentence_right += int(all_right)
    if cut_words:
        logger.warning(
            "evaluate: %d labelled word(s) lie past the model's max_words; they count as errors", cut_words
        )
    return items, sentence_right, sentence_total
