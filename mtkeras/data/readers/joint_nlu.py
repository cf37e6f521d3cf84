"""Joint intent/slot folders: `seq.in`, `seq.out` and `label`, one text a line."""

import itertools
import os

from mtkeras.data.readers.base import (
    SENTENCE,
    TAG_SCHEMES,
    TOKEN,
    BadRecord,
    DataError,
    Example,
    Reader,
    check_choice,
    check_name,
    read_lines,
    tag_problem,
)
from mtkeras.data.readers.registry import register_reader
from mtkeras.errors import FieldError


@register_reader
class JointNLUReader(Reader):
    """Streams examples from a joint intent/slot folder (ATIS, SNIPS style).

    The folder holds `seq.in` (words separated by white space), optionally
    `seq.out` (one tag per word) and `label` (one label per text), one text
    per line, all files the same number of lines. Trailing white space is
    ignored. An example's `source` is `"<folder>/seq.in:<line>"`.

    Args:
        directory: str. The folder.
        label_task: str or None. Task that `label` labels; None to ignore it.
        tags_task: str or None. Task that `seq.out` labels; None to ignore it.
        tag_scheme: str or None. `"bio"` (default): every tag is `O`,
            `B-<type>` or `I-<type>`; None: any tag.
        on_error: str. `"raise"` (default) raises a `DataError` at the first
            bad line; `"skip"` leaves bad lines out, lists them in `skipped`
            and logs one warning.

    Raises:
        DataError: naming file and line for a missing or empty file, files of
        different line counts, bytes that are not UTF-8 (always raised) and,
        unless skipped, an empty text or label, a tag count that is not the
        word count or a tag outside `tag_scheme`.

    Example:
    >>> from mtkeras.data import JointNLUReader
    >>> reader = JointNLUReader("data/atis/train", on_error="skip")
    >>> train = reader.read()
    >>> reader.tasks, len(reader.skipped)
    ({'intent': 'sentence', 'slots': 'token'}, 0)
    """

    _unit = "texts"

    name = "joint_nlu"
    # A dataset's `tasks` map a task to the file that labels it.
    _COLUMNS = {"label": SENTENCE, "tags": TOKEN}

    def __init__(self, directory, label_task="intent", tags_task="slots", tag_scheme="bio", on_error="raise"):
        super().__init__(on_error)
        check_name("label_task", label_task, optional=True)
        check_name("tags_task", tags_task, optional=True)
        if label_task is not None and label_task == tags_task:
            raise ValueError(f"label_task and tags_task must differ; both are {label_task!r}")
        check_choice("tag_scheme", tag_scheme, TAG_SCHEMES)
        self.directory = directory
        self.label_task = label_task
        self.tags_task = tags_task
        self.tag_scheme = tag_scheme

    @property
    def tasks(self):
        tasks = {self.label_task: SENTENCE, self.tags_task: TOKEN}
        return {name: kind for name, kind in tasks.items() if name is not None}

    @property
    def _where(self):
        return os.path.join(os.fspath(self.directory), "seq.in")

    def _records(self):
        directory = os.fspath(self.directory)
        words_path = self._where
        columns = {}  # task -> file
        if self.tags_task is not None:
            columns[self.tags_task] = os.path.join(directory, "seq.out")
        if self.label_task is not None:
            columns[self.label_task] = os.path.join(directory, "label")
        paths = [words_path, *columns.values()]
        for path in paths:
            if not os.path.isfile(path):
                raise DataError(f"{path}: file not found (joint intent/slot folder {directory!r})")
        count = 0
        for rows in itertools.zip_longest(*[read_lines(path) for path in paths]):
            if any(row is None for row in rows):
                ended = [p for p, row in zip(paths, rows) if row is None]
                longer = [p for p, row in zip(paths, rows) if row is not None]
                raise DataError(
                    f"{ended[0]}: ends after {count} lines but {longer[0]} has more "
                    "(every file of the folder needs one line per text)"
                )
            count += 1
            yield self._example(rows[0][0], rows[0][1], [value for _, value in rows[1:]], columns)

    def _example(self, number, text, values, columns):
        """The example on line `number`, or a `BadRecord`."""
        words = tuple(text.split())
        if not words:
            return BadRecord(f"{self._where}:{number}", "empty text")
        labels = {}
        for (task, path), value in zip(columns.items(), values):
            location = f"{path}:{number}"
            if task == self.tags_task:
                tags = tuple(value.split())
                if len(tags) != len(words):
                    return BadRecord(
                        location,
                        f"{len(tags)} tags for {len(words)} words "
                        f"(words: {' '.join(words)!r}; tags: {' '.join(tags)!r})",
                    )
                for position, (word, tag) in enumerate(zip(words, tags), start=1):
                    problem = tag_problem(tag, self.tag_scheme)
                    if problem:
                        return BadRecord(location, f"word {position} ({word!r}): {problem}")
                labels[task] = tags
            else:
                label = value.strip()
                if not label:
                    return BadRecord(location, "empty label")
                labels[task] = label
        return Example(words=words, labels=labels, source=f"{self._where}:{number}")

    @classmethod
    def check_config(cls, dataset, kinds):
        super().check_config(dataset, kinds)
        for task, column in dataset.tasks.items():
            if column not in cls._COLUMNS:
                raise FieldError(f"tasks.{task}", f"joint_nlu columns are 'label' and 'tags', got {column!r}")
            if cls._COLUMNS[column] != kinds[task].level:
                raise FieldError(
                    f"tasks.{task}",
                    f"column {column!r} labels a {cls._COLUMNS[column]} task, but {task!r} is {kinds[task].kind}",
                )

    @classmethod
    def from_config(cls, location, dataset, kinds):
        by_column = {column: task for task, column in dataset.tasks.items()}
        return cls(location, label_task=by_column.get("label"), tags_task=by_column.get("tags"),
                   on_error=dataset.on_error, **dataset.options)


def iter_joint_nlu(directory, label_task="intent", tags_task="slots", **kwargs):
    """Streams a joint intent/slot folder; see `JointNLUReader` (also for `**kwargs`)."""
    return iter(JointNLUReader(directory, label_task=label_task, tags_task=tags_task, **kwargs))


def read_joint_nlu(directory, label_task="intent", tags_task="slots", **kwargs):
    """Reads a joint intent/slot folder into a list; see `JointNLUReader`."""
    return JointNLUReader(directory, label_task=label_task, tags_task=tags_task, **kwargs).read()
