"""What every reader shares: `Example`, `DataError`, lines, the error policy.

A reader subclasses `Reader` and writes one generator, `_records()`, that
yields an `Example` for each good record and a `BadRecord` for each bad one;
`Reader.__iter__` then raises or skips (and counts) the bad ones, so the
policy lives in one place. Problems that are not one record's (a missing file,
bytes that are not UTF-8, an unknown column) are raised as `DataError` directly.
"""

import dataclasses
import logging
import re
from typing import Mapping, NamedTuple, Optional, Tuple, Union

Label = Union[str, Tuple[str, ...]]

from mtkeras.data.readers.registry import registered_readers
from mtkeras.errors import DataError, FieldError  # noqa: F401  (DataError: raised here, defined with the other errors)
from mtkeras.names import SENTENCE, TOKEN  # noqa: F401  (the levels readers report in `Reader.tasks`)

ON_ERROR = ("raise", "skip")
TAG_SCHEMES = ("bio", None)

_BIO_TAG = re.compile(r"O|[BI]-\S+")

logger = logging.getLogger("mtkeras.data.readers")


@dataclasses.dataclass(frozen=True)
class Example:
    """One text, already split into words, with the labels its source has.

    Args:
        words: tuple of str. The text's words (joined by spaces, they are the
            text the model reads).
        labels: dict of task name to a label (sentence tasks) or a tuple of one
            tag per word (token tasks). A task missing here is unlabelled.
        source: str. Where the example came from ("path:line"), for errors.
        pair: tuple of str or None. The second text's words, for sentence-pair
            tasks (NLI, similarity).
    """

    words: Tuple[str, ...]
    labels: Mapping[str, Label]
    source: str = ""
    pair: Optional[Tuple[str, ...]] = None

    @property
    def text(self):
        return " ".join(self.words)

    @property
    def text_pair(self):
        """The second text ("" when the example has none)."""
        return " ".join(self.pair or ())


class BadRecord(NamedTuple):
    """A record a reader could not turn into an `Example`."""

    location: str  # "path:line" of the problem
    problem: str


def read_lines(path):
    """Yields `(line_number, line)` without the line end; bad bytes raise.

    Lines end at "\\n" only (not at the other characters `str.splitlines`
    knows), a byte-order mark at the start of the file is dropped, and bytes
    that are not UTF-8 raise a `DataError` naming the line: a wrong encoding is
    the file's problem, not one record's, so it is never skipped.
    """
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


def tag_problem(tag, tag_scheme):
    """What is wrong with one tag under `tag_scheme` ("bio" or None), or None."""
    if not tag or tag.strip() != tag or len(tag.split()) != 1:
        return f"tag {tag!r} is empty or holds white space"
    if tag_scheme == "bio" and not _BIO_TAG.fullmatch(tag):
        return f"tag {tag!r} is not O, B-<type> or I-<type> (tag_scheme='bio')"
    return None


# Argument checks, for the readers' constructors. Messages name the argument and
# echo the value, as Keras does.


def invalid_argument(name, value, expected):
    return ValueError(
        f"Received an invalid value for `{name}`, expected {expected}. Received: {name}={value!r}"
    )


def check_choice(name, value, choices):
    """`value` is one of `choices`, of the same type too (1 is not True)."""
    if not any(type(value) is type(choice) and value == choice for choice in choices):
        names = [repr(choice) for choice in choices]
        raise invalid_argument(name, value, ", ".join(names[:-1]) + " or " + names[-1])


def check_name(name, value, optional=False):
    """A task, field or column name: a non-empty str (or None if `optional`)."""
    if not (optional and value is None) and (not isinstance(value, str) or not value):
        raise invalid_argument(name, value, "a non-empty string" + (" or None" if optional else ""))


def check_index(name, value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid_argument(name, value, "an integer")


def check_mapping(name, value, check_value):
    """A dict of task name to column or field; `check_value(name, v)` checks each value."""
    if not isinstance(value, Mapping) or not all(isinstance(task, str) and task for task in value):
        raise invalid_argument(name, value, "a dict of task name (str) to column or field")
    for task, column in value.items():
        check_value(f"{name}[{task!r}]", column)


class Reader:
    """Base class of the readers: streaming, bad records, skipped records.

    Iterating a reader streams `Example`s. A bad record raises a `DataError`
    naming its file, line and problem (`on_error="raise"`), or is left out and
    recorded in `skipped` as `(location, problem)` (`on_error="skip"`); after
    an iteration that skipped any, one warning gives their count and the first
    problem. A source with no example at all raises a `DataError` either way.

    Subclasses call `super().__init__(on_error)` and define `tasks`, `_where`
    (the file or folder, for messages), `_unit` (what a record is called,
    plural) and `_records()`.

    Args:
        on_error: str. `"raise"` (default) or `"skip"`.
    """

    _unit = "records"
    # === In configs (`datasets.<source>` of `mtkeras train`) ===
    # What `reader:` names (see `register_reader`).
    name = None
    # Which of a dataset's `text`, `pair` and `name` fields the reader reads.
    config_fields = ()
    # A split's location is a path (a config names a missing one before reading).
    reads_files = True

    def __init__(self, on_error="raise"):
        check_choice("on_error", on_error, ON_ERROR)
        self.on_error = on_error
        # (location, problem) of each record the latest iteration skipped.
        self.skipped = []

    @property
    def tasks(self):
        """Dict of task name to kind (`"sentence"` or `"token"`) this source labels."""
        raise NotImplementedError

    def _records(self):
        """Yields an `Example` or a `BadRecord` per record, in file order."""
        raise NotImplementedError

    def _empty_message(self):
        return f"{self._where}: empty file, no {self._unit}"

    def __iter__(self):
        self.skipped = []
        count = 0
        for record in self._records():
            if isinstance(record, BadRecord):
                if self.on_error == "raise":
                    raise DataError(f"{record.location}: {record.problem}")
                self.skipped.append(tuple(record))
                continue
            count += 1
            yield record
        if not self.skipped:
            if count == 0:
                raise DataError(self._empty_message())
            return
        location, problem = self.skipped[0]
        total = len(self.skipped) + count
        if count == 0:
            raise DataError(
                f"{self._where}: no examples left, all {total} {self._unit} are bad; "
                f"the first: {location}: {problem}"
            )
        logger.warning(
            "%s: skipped %d bad %s of %d (on_error='skip'); the first: %s: %s",
            self._where, len(self.skipped), self._unit, total, location, problem,
        )

    def read(self):
        """Reads all examples into a list."""
        return list(self)

    @classmethod
    def check_config(cls, dataset, kinds):
        """Raises `FieldError` for what this reader cannot read in a config's dataset entry.

        Runs when the config loads, before anything is read. The base checks
        that `text`, `pair` and `name` are set only when the reader reads
        them; readers add their own rules about `tasks` columns.

        Args:
            dataset: the dataset's config (`tasks`, `text`, `pair`, `name`,
                `options`, `on_error`).
            kinds: dict of task name to its task kind (a `Task` class: its
                `level` is `"sentence"` or `"token"`), for the tasks the
                dataset labels.
        """
        for field in ("name", "pair", "text"):
            if getattr(dataset, field) is not None and field not in cls.config_fields:
                raise FieldError(field, _refusal(cls, field))

    @classmethod
    def from_config(cls, location, dataset, kinds):
        """The reader of one split (`location`: a path, or a split name) of a config's dataset."""
        raise NotImplementedError(f"Reader {cls.name!r} ({cls.__name__}) cannot be built from a config")


def _refusal(cls, field):
    takers = sorted(name for name, reader in registered_readers().items() if field in reader.config_fields)
    what = {"name": "a dataset name", "pair": "a pair column"}.get(field)
    if what is None:
        return f"reader {cls.name} reads its words from fixed places; remove `text`"
    return f"only reader {' or '.join(takers)} takes {what} (reader is {cls.name!r})"

