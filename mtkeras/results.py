"""The result contract: an export's output tensors, read back as one answer per text.

An mtkeras export returns dense tensors named as `mtkeras.names` says:
`words`, `lengths`, and per task the outputs its kind writes. This module turns
them into plain Python answers, one dict per text, the same whether they come
from TF Serving (gRPC or REST), `mtkeras serve`, or the model in this process
(`mtkeras.predict`). It imports neither TensorFlow nor Keras, so clients stay
light.

Each task kind answers in one `ResultFormat`, found by the output that marks
it (`<task>_label`, `<task>_tags`, `<task>_labels`, `<task>_value`); a kind
from outside mtkeras registers its own with `register_result_format`.

Example:
>>> outputs = client.predict_raw(["book a table for two"])
>>> results_from_outputs(outputs, 1)
[{"intent": {"label": "BookRestaurant", "score": 0.99}, "slots": {"tags": [...], "entities": [...]}}]
"""

import math
import numbers

import numpy as np

from mtkeras import names


class ResultFormat:
    """How one task kind's outputs read as an answer.

    Subclasses set `marker`, the output suffix that says a task answers in
    this format (and names the task: `<task><marker>`), and define `decode`
    and `describe`.
    """

    marker = None
    # The other outputs a task in this format writes (`<task><suffix>`): never read as tasks of their own.
    companions = (names.PROBS_SUFFIX,)

    def decode(self, task, outputs, index, words):
        """The answer of text `index`: `outputs` maps every output name to its array (strings as str)."""
        raise NotImplementedError

    def describe(self, answer):
        """One short line for a terminal (`mtkeras predict`)."""
        raise NotImplementedError

    def matches(self, answer):
        """Whether `answer` is one this format decodes (for `format_result`, which sees answers only)."""
        raise NotImplementedError


class LabelFormat(ResultFormat):
    """One label per text: `{"label": str, "score": float}`."""

    marker = names.LABEL_SUFFIX
    companions = (names.SCORE_SUFFIX, names.PROBS_SUFFIX)

    def decode(self, task, outputs, index, words):
        answer = {"label": outputs[names.label_key(task)][index]}
        if names.score_key(task) in outputs:
            answer["score"] = float(outputs[names.score_key(task)][index])
        return answer

    def describe(self, answer):
        score = f"  ({answer['score']:.2f})" if "score" in answer else ""
        return f"{answer['label']}{score}"

    def matches(self, answer):
        return isinstance(answer, dict) and "label" in answer


class TagFormat(ResultFormat):
    """One tag per word and the entities they form:
    `{"tags": [[word, tag], ...], "entities": [{"type", "text", "start", "end", "score"}, ...]}`
    (`words[start:end]` is the entity; `score`, the mean probability of its tags)."""

    marker = names.TAGS_SUFFIX
    companions = (
        names.PROBS_SUFFIX,
        names.ENTITY_START_SUFFIX,
        names.ENTITY_END_SUFFIX,
        names.ENTITY_TYPE_SUFFIX,
        names.ENTITY_COUNT_SUFFIX,
        names.ENTITY_SCORE_SUFFIX,
    )

    def decode(self, task, outputs, index, words):
        answer = {"tags": [[word, tag] for word, tag in zip(words, outputs[names.tags_key(task)][index][: len(words)])]}
        if names.entity_count_key(task) in outputs:
            starts = outputs[names.entity_start_key(task)][index]
            ends = outputs[names.entity_end_key(task)][index]
            types = outputs[names.entity_type_key(task)][index]
            answer["entities"] = [
                {
                    "type": types[e],
                    "text": " ".join(words[int(starts[e]) : int(ends[e])]),
                    "start": int(starts[e]),
                    "end": int(ends[e]),
                }
                for e in range(int(outputs[names.entity_count_key(task)][index]))
            ]
            if names.entity_score_key(task) in outputs:  # exports from before entity scores have none
                scores = outputs[names.entity_score_key(task)][index]
                for e, entity in enumerate(answer["entities"]):
                    entity["score"] = float(scores[e])
        return answer

    def describe(self, answer):
        if "entities" in answer:
            shown = [f"{e['type']}={e['text']!r}" + (f" ({e['score']:.2f})" if "score" in e else "") for e in answer["entities"]]
            return ", ".join(shown) or "(none)"
        return " ".join(f"{word}/{tag}" for word, tag in answer["tags"])

    def matches(self, answer):
        return isinstance(answer, dict) and "tags" in answer


class LabelSetFormat(ResultFormat):
    """Any number of labels per text: the list of those that are on."""

    marker = names.LABELS_SUFFIX

    def decode(self, task, outputs, index, words):
        return [label for label in outputs[names.labels_key(task)][index] if label]

    def describe(self, answer):
        return ", ".join(answer) or "(none)"

    def matches(self, answer):
        return isinstance(answer, list)


class ValueFormat(ResultFormat):
    """One number per text: a float."""

    marker = names.VALUE_SUFFIX

    def decode(self, task, outputs, index, words):
        return float(outputs[names.value_key(task)][index])

    def describe(self, answer):
        return f"{answer:.3f}"

    def matches(self, answer):
        return isinstance(answer, numbers.Real) and not isinstance(answer, bool)


LABEL, TAGS, LABEL_SET, VALUE = LabelFormat(), TagFormat(), LabelSetFormat(), ValueFormat()
_FORMATS = {fmt.marker: fmt for fmt in (LABEL, TAGS, LABEL_SET, VALUE)}


def register_result_format(fmt):
    """Makes a `ResultFormat` (an instance) known to `results_from_outputs`, by its `marker`."""
    if not isinstance(fmt, ResultFormat) or not fmt.marker:
        raise ValueError(f"Received an invalid result format, expected a ResultFormat with a marker. Received: {fmt!r}")
    _FORMATS[fmt.marker] = fmt
    return fmt


def strings_as_text(array):
    """Bytes arrays to arrays of Python str (invalid UTF-8 becomes U+FFFD); others unchanged."""
    if array.dtype != object:
        return array
    decoded = [value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value for value in array.ravel()]
    return np.array(decoded, dtype=object).reshape(array.shape)


def results_from_outputs(outputs, count):
    """One answer dict per text from an mtkeras export's outputs, keyed by task name.

    Outputs outside the result formats (such as `*_probs`) are left out.

    Args:
        outputs: dict of name -> array-like, as TF Serving, `mtkeras serve` or
            the exported signature return them (strings as str or UTF-8 bytes).
        count: int. Number of texts.
    """
    outputs = {key: strings_as_text(np.asarray(value)) for key, value in outputs.items()}
    lengths, words = outputs[names.LENGTHS], outputs[names.WORDS]
    tasks = [
        (key[: -len(marker)], fmt)
        for key in sorted(outputs)
        for marker, fmt in _FORMATS.items()
        if key.endswith(marker) and len(key) > len(marker)
    ]
    # `slots_entity_count` is an output of the tags task `slots`, not a task `slots_entity` (marker `_count`).
    companions = {task + suffix for task, fmt in tasks for suffix in fmt.companions}
    tasks = [(task, fmt) for task, fmt in tasks if task + fmt.marker not in companions]
    results = []
    for i in range(count):
        text_words = list(words[i][: int(lengths[i])])
        results.append({task: fmt.decode(task, outputs, i, text_words) for task, fmt in tasks})
    return results


def format_result(text, result):
    """A readable block for one text's answer (what `mtkeras predict` prints)."""
    lines = [f"> {text}"]
    for task, answer in result.items():
        lines.append(f"    {task:<12} {_describe(answer)}")
    return "\n".join(lines)


def _describe(answer):
    fmt = next((fmt for fmt in _FORMATS.values() if fmt.matches(answer)), None)
    return fmt.describe(answer) if fmt is not None else str(answer)


def same_answers(results, expected, tolerance=1e-5):
    """Whether two lists of answers (`Client.predict`, `mtkeras.predict`) are the same.

    Labels, tags, entities and multi-label sets must be equal; scores and
    regression values may differ by `tolerance`, absolute or relative to their
    size (two NaNs are the same): a SavedModel and the model in memory, or two
    CPUs, can sum the same float32 numbers in another order (with another
    kernel), so an exact comparison of the floats would fail on answers that
    are the same.

    Args:
        results, expected: lists of answer dicts, one per text.
        tolerance: float. Largest difference of two scores or values, absolute
            or relative.
    """

    def number(value):
        return isinstance(value, numbers.Real) and not isinstance(value, bool)

    def same(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if number(a) and number(b) and (isinstance(a, float) or isinstance(b, float)):
            both_nan = math.isnan(a) and math.isnan(b)
            return both_nan or math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
        return type(a) is type(b) and a == b

    return same(list(results), list(expected))
