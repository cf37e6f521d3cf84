"""Readers: files to `Example`s carrying the labels each source has."""

import dataclasses
import itertools
import os
from typing import Mapping, Tuple, Union

Label = Union[str, Tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class Example:
    """One text, already split into words, with the labels its source has.

    Args:
        words: tuple of str. The text's words (joined by spaces, they are the
            text the model reads).
        labels: dict of task name to a label (sentence tasks) or a tuple of one
            tag per word (token tasks). A task missing here is unlabelled.
        source: str. Where the example came from ("path:line"), for errors.
    """

    words: Tuple[str, ...]
    labels: Mapping[str, Label]
    source: str = ""

    @property
    def text(self):
        return " ".join(self.words)


class DataError(ValueError):
    """Bad input data; the message names the file, the line and the problem."""


def _read_lines(path):
    """Yields `(line_number, stripped_line)`; undecodable bytes name the line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                # utf-8-sig: a byte-order mark is not part of the first word.
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise DataError(
                    f"{path}:{number}: not valid UTF-8 ({err.reason} at byte "
                    f"{err.start}: {raw[max(0, err.start - 10):err.end + 10]!r})"
                ) from None
            yield number, line.rstrip("\r\n")


def iter_joint_nlu(directory, label_task="intent", tags_task="slots"):
    """Streams examples from a joint intent/slot folder.

    The folder holds `seq.in` (words separated by white space), optionally
    `seq.out` (one BIO tag per word) and `label` (one label per text), one text
    per line, all files the same number of lines. Trailing white space is
    ignored.

    Args:
        directory: str. The folder.
        label_task: str or None. Task that `label` labels; None to ignore it.
        tags_task: str or None. Task that `seq.out` labels; None to ignore it.

    Raises:
        DataError: naming file and line for a missing or empty file, lines that
        differ in number, a tag count that is not the word count, an empty
        text or label, or bytes that are not UTF-8.
    """
    if label_task is not None and label_task == tags_task:
        raise ValueError(f"label_task and tags_task must differ; both are {label_task!r}")
    words_path = os.path.join(directory, "seq.in")
    columns = {}
    if tags_task is not None:
        columns[tags_task] = os.path.join(directory, "seq.out")
    if label_task is not None:
        columns[label_task] = os.path.join(directory, "label")
    for path in [words_path, *columns.values()]:
        if not os.path.isfile(path):
            raise DataError(f"{path}: file not found (joint intent/slot folder {directory!r})")
    paths = [words_path, *columns.values()]
    streams = [_read_lines(path) for path in paths]
    count = 0
    for rows in itertools.zip_longest(*streams):
        if any(row is None for row in rows):
            ended = [p for p, row in zip(paths, rows) if row is None]
            longer = [p for p, row in zip(paths, rows) if row is not None]
            raise DataError(
                f"{ended[0]}: ends after {count} lines but {longer[0]} has more "
                "(every file of the folder needs one line per text)"
            )
        number = rows[0][0]
        source = f"{words_path}:{number}"
        words = tuple(rows[0][1].split())
        if not words:
            raise DataError(f"{source}: empty text")
        labels = {}
        for (task, path), (_, value) in zip(columns.items(), rows[1:]):
            if task == tags_task:
                tags = tuple(value.split())
                if len(tags) != len(words):
                    raise DataError(
                        f"{path}:{number}: {len(tags)} tags for {len(words)} words "
                        f"(words: {' '.join(words)!r}; tags: {' '.join(tags)!r})"
                    )
                labels[task] = tags
            else:
                label = value.strip()
                if not label:
                    raise DataError(f"{path}:{number}: empty label")
                labels[task] = label
        count += 1
        yield Example(words=words, labels=labels, source=source)
    if count == 0:
        raise DataError(f"{words_path}: empty file, no texts")


def read_joint_nlu(directory, label_task="intent", tags_task="slots"):
    """Reads a joint intent/slot folder into a list; see `iter_joint_nlu`."""
    return list(iter_joint_nlu(directory, label_task=label_task, tags_task=tags_task))
