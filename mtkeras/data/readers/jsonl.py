"""JSON Lines: one object a line, a text field and a field per task."""

import json
import os

from mtkeras.data.readers.base import (
    SENTENCE,
    TAG_SCHEMES,
    TOKEN,
    BadRecord,
    Example,
    Reader,
    check_choice,
    check_mapping,
    check_name,
    read_lines,
    tag_problem,
)
from mtkeras.data.readers.registry import register_reader

_JSON_TYPES = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
}


class _Problem(Exception):
    """What is wrong with the record being read (becomes a `BadRecord`)."""


def _show(value, limit=80):
    """`repr(value)`, cut to `limit` characters for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_type(value):
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


@register_reader
class JsonLinesReader(Reader):
    """Streams examples from a JSON Lines file, one object a line.

    Each object holds the text, as a string (`text_field`, split into words by
    `str.split()`) or as an array of words (`words_field`), and a field per
    task: a string label for a sentence task (an integer is read as its
    decimal string) or an array of one tag per word for a token task. Lines
    that hold only white space are passed over. An example's `source` is
    `"<path>:<line>"`.

    Args:
        path: str. The file.
        label_fields: dict of sentence task name to its field, e.g.
            `{"intent": "intent"}`. Default: none.
        tag_fields: dict of token task name to its field, e.g.
            `{"slots": "slot_tags"}`. Default: none.
        text_field: str or None. Field holding the text as a string; None
            (default) means `"text"` unless `words_field` is given.
        words_field: str or None. Field holding the words as an array of
            strings, instead of `text_field`.
        allow_missing: bool. If True, a record may lack a task's field (or
            hold null there): the example is then unlabelled for that task, as
            in a file mixing sources. Default False: a missing field is an error.
        tag_scheme: str or None. `"bio"` (default): every tag is `O`,
            `B-<type>` or `I-<type>`; None: any tag.
        on_error: str. `"raise"` (default) raises a `DataError` at the first
            bad line; `"skip"` leaves bad lines out, lists them in `skipped`
            and logs one warning.

    Raises:
        DataError: naming file and line for an empty file, bytes that are not
        UTF-8 (always raised) and, unless skipped, invalid JSON, a line that
        is not an object, a missing field (listing the fields present), a
        field of the wrong type, an empty text, word or label, a tag count
        that is not the word count or a tag outside `tag_scheme`.

    Example:
    >>> from mtkeras.data import JsonLinesReader
    >>> reader = JsonLinesReader("mixed.jsonl", label_fields={"intent": "intent", "sentiment": "sentiment"},
    ...                          tag_fields={"slots": "slots"}, allow_missing=True)
    >>> reader.tasks
    {'intent': 'sentence', 'sentiment': 'sentence', 'slots': 'token'}
    """

    name = "jsonl"
    config_fields = ("text",)

    def __init__(
        self,
        path,
        label_fields=None,
        tag_fields=None,
        text_field=None,
        words_field=None,
        allow_missing=False,
        tag_scheme="bio",
        on_error="raise",
    ):
        super().__init__(on_error)
        check_mapping("label_fields", label_fields or {}, check_name)
        check_mapping("tag_fields", tag_fields or {}, check_name)
        both = sorted(set(label_fields or {}) & set(tag_fields or {}))
        if both:
            raise ValueError(
                f"A task is either a sentence or a token task; {both} are in both label_fields and tag_fields"
            )
        check_name("text_field", text_field, optional=True)
        check_name("words_field", words_field, optional=True)
        if text_field is not None and words_field is not None:
            raise ValueError(
                f"Give text_field or words_field, not both. Received: text_field={text_field!r}, "
                f"words_field={words_field!r}"
            )
        check_choice("allow_missing", allow_missing, (True, False))
        check_choice("tag_scheme", tag_scheme, TAG_SCHEMES)
        self.path = path
        self.label_fields = label_fields
        self.tag_fields = tag_fields
        self.text_field = text_field
        self.words_field = words_field
        self.allow_missing = allow_missing
        self.tag_scheme = tag_scheme

    @property
    def tasks(self):
        tasks = {task: SENTENCE for task in self.label_fields or {}}
        tasks.update({task: TOKEN for task in self.tag_fields or {}})
        return tasks

    @property
    def _where(self):
        return os.fspath(self.path)

    def _records(self):
        path = self._where
        for number, line in read_lines(path):
            if line.strip():
                yield self._example(line, f"{path}:{number}")

    def _example(self, line, source):
        try:
            return self._parse(line, source)
        except _Problem as problem:
            return BadRecord(source, str(problem))

    def _parse(self, line, source):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise _Problem(f"invalid JSON: {err.msg} (column {err.colno})") from None
        if not isinstance(record, dict):
            raise _Problem(f"expected a JSON object, got {_json_type(record)}")
        words = self._words(record)
        labels = {}
        for task, field in (self.label_fields or {}).items():
            value = self._task_value(record, field, task)
            if value is not None:
                labels[task] = _label(value, field)
        for task, field in (self.tag_fields or {}).items():
            value = self._task_value(record, field, task)
            if value is not None:
                labels[task] = self._tags(value, field, words)
        return Example(words=words, labels=labels, source=source)

    def _task_value(self, record, field, task):
        """The task's value; None if missing (or null) and `allow_missing`."""
        if record.get(field) is None and self.allow_missing:
            return None
        return _field(record, field, f"task {task!r}")

    def _words(self, record):
        if self.words_field is None:
            field = self.text_field or "text"
            text = _field(record, field, "the text")
            if not isinstance(text, str):
                raise _Problem(f"field {field!r} must be a string, got {_json_type(text)}: {_show(text)}")
            words = tuple(text.split())
        else:
            field = self.words_field
            words = _field(record, field, "the words")
            if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
                raise _Problem(f"field {field!r} must be an array of strings, got {_show(words)}")
            for position, word in enumerate(words, start=1):
                if not word.strip():
                    raise _Problem(f"field {field!r}: word {position} is empty or white space ({word!r})")
            words = tuple(words)
        if not words:
            raise _Problem(f"empty text (field {field!r})")
        return words

    def _tags(self, value, field, words):
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            raise _Problem(f"field {field!r} must be an array of tags (strings), got {_show(value)}")
        if len(value) != len(words):
            raise _Problem(
                f"field {field!r} has {len(value)} tags for {len(words)} words "
                f"(words: {' '.join(words)!r}; tags: {' '.join(value)!r})"
            )
        for position, (word, tag) in enumerate(zip(words, value), start=1):
            problem = tag_problem(tag, self.tag_scheme)
            if problem:
                raise _Problem(f"field {field!r}, word {position} ({word!r}): {problem}")
        return tuple(value)

    @classmethod
    def from_config(cls, location, dataset, kinds):
        labels = {task: field for task, field in dataset.tasks.items() if kinds[task].level != TOKEN}
        tags = {task: field for task, field in dataset.tasks.items() if kinds[task].level == TOKEN}
        return cls(location, label_fields=labels or None, tag_fields=tags or None, text_field=dataset.text,
                   on_error=dataset.on_error, **dataset.options)


def _field(record, field, what):
    """`record[field]`; a missing or null field is a problem naming the fields present."""
    if record.get(field) is None:
        if field in record:
            raise _Problem(f"field {field!r} ({what}) is null")
        raise _Problem(f"no field {field!r} ({what}); the object has fields {sorted(record)}")
    return record[field]


def _label(value, field):
    """A sentence label: a non-empty string, or an integer read as its decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Problem(f"field {field!r} must be a string label, got {_json_type(value)}: {_show(value)}")
    if not value.strip():
        raise _Problem(f"empty label (field {field!r})")
    return value.strip()


def read_jsonl(path, label_fields=None, tag_fields=None, **kwargs):
    """Reads a JSON Lines file into a list; see `JsonLinesReader`."""
    return JsonLinesReader(path, label_fields=label_fields, tag_fields=tag_fields, **kwargs).read()
