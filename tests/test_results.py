"""The result contract: export outputs read back as one answer per text, printed, and compared."""

import numpy as np
import pytest

from mtkeras import names, results
from mtkeras.results import format_result, register_result_format, results_from_outputs, same_answers


def outputs_of_every_kind():
    """What an export answers for two texts, one task of each result format (strings as bytes)."""
    return {
        names.WORDS: np.array([[b"play", b"miles", b"davis"], [b"hi", b"", b""]], dtype=object),
        names.LENGTHS: np.array([3, 1], np.int32),
        "intent_label": np.array([b"PlayMusic", b"Greet"], dtype=object),
        "intent_score": np.array([0.9, 0.6], np.float32),
        "intent_probs": np.zeros([2, 2], np.float32),
        "slots_tags": np.array([[b"O", b"B-artist", b"I-artist"], [b"O", b"", b""]], dtype=object),
        "slots_entity_start": np.array([[1], [-1]], np.int32),
        "slots_entity_end": np.array([[3], [-1]], np.int32),
        "slots_entity_type": np.array([[b"artist"], [b""]], dtype=object),
        "slots_entity_count": np.array([1, 0], np.int32),
        "topics_labels": np.array([[b"music", b""], [b"", b""]], dtype=object),
        "rating_value": np.array([4.5, 1.0], np.float32),
    }


def test_every_result_format_reads_its_outputs():
    first, second = results_from_outputs(outputs_of_every_kind(), 2)
    assert first["intent"] == {"label": "PlayMusic", "score": pytest.approx(0.9)}
    assert first["slots"] == {
        "tags": [["play", "O"], ["miles", "B-artist"], ["davis", "I-artist"]],
        "entities": [{"type": "artist", "text": "miles davis", "start": 1, "end": 3}],
    }
    assert first["topics"] == ["music"] and second["topics"] == []
    assert first["rating"] == pytest.approx(4.5)
    assert second["slots"] == {"tags": [["hi", "O"]], "entities": []}
    assert set(first) == {"intent", "slots", "topics", "rating"}  # *_probs are not answers


def test_a_registered_marker_never_reads_another_tasks_outputs_as_a_task():
    class Count(results.ResultFormat):
        marker = "_count"

        def decode(self, task, outputs, index, words):
            return int(outputs[task + self.marker][index])

    saved = dict(results._FORMATS)
    register_result_format(Count())
    try:
        outputs = outputs_of_every_kind()
        outputs.update({"words_count": np.array([3, 1]), "intent_fine_label": np.array([b"a", b"b"], dtype=object)})
        first, _ = results_from_outputs(outputs, 2)
        # `slots_entity_count` belongs to `slots`; `intent_fine` is a task of its own beside `intent`.
        assert set(first) == {"intent", "intent_fine", "slots", "topics", "rating", "words"}
        assert first["words"] == 3 and first["intent_fine"] == {"label": "a"}
    finally:
        results._FORMATS.clear()
        results._FORMATS.update(saved)


def test_format_result_prints_one_line_per_task():
    (answer, _) = results_from_outputs(outputs_of_every_kind(), 2)
    assert format_result("play miles davis", answer).splitlines() == [
        "> play miles davis",
        "    intent       PlayMusic  (0.90)",
        "    rating       4.500",
        "    slots        artist='miles davis'",
        "    topics       music",
    ]


def test_a_format_from_outside_is_read_and_printed():
    class Stars(results.ResultFormat):
        marker = "_stars"

        def decode(self, task, outputs, index, words):
            return "*" * int(outputs[task + self.marker][index])

        def describe(self, answer):
            return answer

        def matches(self, answer):
            return isinstance(answer, str) and set(answer) == {"*"}

    register_result_format(Stars())
    outputs = {names.WORDS: np.array([[b"ok"]], dtype=object), names.LENGTHS: np.array([1]), "review_stars": np.array([3])}
    (answer,) = results_from_outputs(outputs, 1)
    assert answer == {"review": "***"}
    assert format_result("ok", answer).splitlines()[1] == "    review       ***"
    with pytest.raises(ValueError, match="ResultFormat with a marker"):
        register_result_format(object())


def test_same_answers_allows_float32_noise_in_scores_only():
    answer = {
        "intent": {"label": "PlayMusic", "score": 0.91},
        "slots": {"tags": [["play", "O"], ["jazz", "B-genre"]],
                  "entities": [{"type": "genre", "text": "jazz", "start": 1, "end": 2}]},
        "topics": ["music"],
        "rating": 4.2,
    }

    def changed(task, key, value):
        other = {name: (dict(part) if isinstance(part, dict) else part) for name, part in answer.items()}
        if key is None:
            other[task] = value
        else:
            other[task][key] = value
        return [other]

    assert same_answers([answer], [answer])
    assert same_answers(changed("intent", "score", 0.91 + 3e-6), [answer])
    assert same_answers(changed("rating", None, 4.2 - 3e-6), [answer])
    # Large values: float32 spacing exceeds 1e-5, the relative tolerance applies.
    assert same_answers(changed("rating", None, 4200.0004), changed("rating", None, 4200.0))
    assert same_answers(changed("rating", None, float("nan")), changed("rating", None, float("nan")))
    assert not same_answers(changed("rating", None, float("nan")), [answer])
    assert not same_answers(changed("intent", "score", 0.92), [answer])
    assert not same_answers(changed("rating", None, 4.3), [answer])
    assert not same_answers(changed("intent", "label", "GetWeather"), [answer])
    assert not same_answers(changed("slots", "tags", [["play", "O"], ["jazz", "O"]]), [answer])
    assert not same_answers(changed("slots", "entities", []), [answer])
    assert not same_answers(changed("topics", None, []), [answer])
    assert not same_answers([answer, answer], [answer])
    assert not same_answers([{"intent": answer["intent"]}], [answer])
