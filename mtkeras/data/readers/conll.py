"""CoNLL-style token files: one `token ... tag` line per word, blank lines between sentences."""

import os

from mtkeras.data.readers.base import (
    TAG_SCHEMES,
    TOKEN,
    BadRecord,
    Example,
    Reader,
    check_choice,
    check_index,
    check_name,
    read_lines,
    tag_problem,
)
from mtkeras.data.readers.registry import register_reader
from mtkeras.errors import FieldError

DOCSTART = "-DOCSTART-"


@register_reader
class ConllReader(Reader):
    """Streams sentences from a CoNLL-style file (CoNLL-2003, WNUT, ...).

    Each word is one line of white-space separated columns, among them the
    word and its tag; every word line of a file has the same number of columns.
    Lines that are empty or hold only white space (a lone tab, say) end a
    sentence; `-DOCSTART-` lines end one too and are otherwise ignored, as is
    trailing white space. The file need not end with a blank line. A sentence's
    `source` is `"<path>:<its first line>"`.

    Args:
        path: str. The file.
        task: str. The token task its tags label, e.g. `"entities"` (default).
        token_column: int. Column of the word, counted from 0; negative counts
            from the end. Default 0.
        tag_column: int. Column of the tag; default -1, the last.
        tag_scheme: str or None. `"bio"` (default): every tag is `O`,
            `B-<type>` or `I-<type>` (IOB1 and IOB2 both pass); None: any tag,
            e.g. for part-of-speech columns.
        on_error: str. `"raise"` (default) raises a `DataError` at the first
            bad line; `"skip"` leaves out the sentences that hold one, lists
            them in `skipped` and logs one warning.

    Raises:
        DataError: naming file and line for a file with no sentence, bytes
        that are not UTF-8 (always raised) and, unless skipped, a line with
        too few (or more) columns or a tag outside `tag_scheme`.

    Example:
    >>> from mtkeras.data import ConllReader
    >>> reader = ConllReader("conll2003/train.txt", task="entities")
    >>> sentences = reader.read()
    >>> sentences[0].labels["entities"][:3]
    ('B-ORG', 'O', 'B-MISC')
    """

    _unit = "sentences"

    name = "conll"

    def __init__(
        self, path, task="entities", token_column=0, tag_column=-1, tag_scheme="bio", on_error="raise"
    ):
        super().__init__(on_error)
        check_name("task", task)
        check_index("token_column", token_column)
        check_index("tag_column", tag_column)
        if token_column == tag_column:
            raise ValueError(
                f"token_column and tag_column must differ. Received: token_column={token_column}, "
                f"tag_column={tag_column}"
            )
        check_choice("tag_scheme", tag_scheme, TAG_SCHEMES)
        self.path = path
        self.task = task
        self.token_column = token_column
        self.tag_column = tag_column
        self.tag_scheme = tag_scheme

    @property
    def tasks(self):
        return {self.task: TOKEN}

    @property
    def _where(self):
        return os.fspath(self.path)

    def _empty_message(self):
        return f"{self._where}: no sentences (the file is empty or holds only blank and {DOCSTART} lines)"

    def _records(self):
        path = self._where
        width = None  # (column count, line) of the first good word line
        start, words, tags, bad = None, [], [], None
        for number, line in read_lines(path):
            columns = line.split()
            if not columns or columns[0] == DOCSTART:
                if start is not None:
                    yield bad or Example(tuple(words), {self.task: tuple(tags)}, f"{path}:{start}")
                start, words, tags, bad = None, [], [], None
                continue
            if start is None:
                start = number
            if bad:
                continue  # the rest of a bad sentence
            problem = self._columns_problem(columns, width)
            if problem is None:
                word, tag = columns[self.token_column], columns[self.tag_column]
                problem = tag_problem(tag, self.tag_scheme)
                if problem is not None:
                    problem = f"word {word!r}: {problem}"
            if problem is not None:
                bad = BadRecord(f"{path}:{number}", problem)
                continue
            width = width or (len(columns), number)
            words.append(word)
            tags.append(tag)
        if start is not None:
            yield bad or Example(tuple(words), {self.task: tuple(tags)}, f"{path}:{start}")

    def _columns_problem(self, columns, width):
        count, line = len(columns), " ".join(columns)
        if width is not None and count != width[0]:
            return f"{count} column(s), expected {width[0]} as on line {width[1]} (line: {line!r})"
        indexes = [index if index >= 0 else count + index for index in (self.token_column, self.tag_column)]
        if any(not 0 <= index < count for index in indexes) or indexes[0] == indexes[1]:
            return (
                f"{count} column(s), too few for token_column={self.token_column} and "
                f"tag_column={self.tag_column} (line: {line!r})"
            )
        return None

    @classmethod
    def check_config(cls, dataset, kinds):
        super().check_config(dataset, kinds)
        for task, column in dataset.tasks.items():
            if not isinstance(column, int):
                raise FieldError(f"tasks.{task}", f"conll columns are positions (e.g. -1), got {column!r}")
            if kinds[task].level != TOKEN:
                raise FieldError(f"tasks.{task}", f"conll labels token tasks; {task!r} is {kinds[task].kind}")
        if len(dataset.tasks) != 1:
            raise FieldError("tasks", f"reader conll labels one token task, got {sorted(dataset.tasks)}")

    @classmethod
    def from_config(cls, location, dataset, kinds):
        ((task, column),) = dataset.tasks.items()
        return cls(location, task=task, tag_column=column, on_error=dataset.on_error, **dataset.options)


def read_conll(path, task="entities", **kwargs):
    """Reads a CoNLL-style file into a list; see `ConllReader`."""
    return ConllReader(path, task=task, **kwargs).read()
