"""Delimited text (TSV, CSV): a text column and label columns, one text a row."""

import csv
import os

from mtkeras.data.readers.base import (
    SENTENCE,
    TOKEN,
    BadRecord,
    DataError,
    Example,
    Reader,
    check_choice,
    check_mapping,
    invalid_argument,
    read_lines,
)
from mtkeras.data.readers.registry import register_reader
from mtkeras.errors import FieldError

# Delimiter by file extension, when `delimiter` is not given.
DELIMITERS = {".tsv": "\t", ".csv": ","}


def _check_column(name, value):
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise invalid_argument(name, value, "a column name (str) or a position (int)")


def _default_delimiter(path):
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in DELIMITERS:
        raise ValueError(
            f"Cannot tell the delimiter of {os.fspath(path)!r} from its extension "
            f"(.tsv: tab, .csv: comma); pass `delimiter`. Received: delimiter=None"
        )
    return DELIMITERS[extension]


@register_reader
class DelimitedReader(Reader):
    """Streams texts with sentence labels from a TSV or CSV file.

    Rows are parsed by Python's `csv` module; every field is stripped of
    surrounding white space (so SST-2's `text <TAB>label` rows work) and the
    text is split into words by `str.split()`, the model's white-space rule.
    Rows whose fields are all empty (blank lines) are not records and are
    passed over. Every row has as many fields as the header (or, without a
    header, as the first row). An example's `source` is `"<path>:<line>"`, the
    row's first line.

    Args:
        path: str. The file.
        columns: dict of task name to the column holding its label: a header
            name (str) or a position (int, from 0; negative counts from the
            end), e.g. `{"sentiment": "label"}`.
        text_column: str or int. The text's column; default `"text"`.
        pair_column: str, int or None. A second text's column, for
            sentence-pair tasks (e.g. GLUE MRPC/STS-B, NLI).
        delimiter: str or None. One character; None (default): a tab for
            `.tsv` files, a comma for `.csv` files.
        header: bool. Whether the first row names the columns (default True).
            Without a header, columns are given by position.
        quoted: bool or None. Whether fields may be quoted with `"` (RFC 4180,
            `""` for a quote inside). None (default): yes, unless the delimiter
            is a tab (TSV files such as GLUE's hold bare quotes in texts).
        on_error: str. `"raise"` (default) raises a `DataError` at the first
            bad row; `"skip"` leaves bad rows out, lists them in `skipped` and
            logs one warning.

    Raises:
        DataError: naming file and line for an empty file or one with no row
        after its header, a column name the header lacks (listing the header),
        a position past the last column, bytes that are not UTF-8 (always
        raised) and, unless skipped, a row with a different number of fields,
        bad quoting, an empty text or an empty label.

    Example:
    >>> from mtkeras.data import DelimitedReader
    >>> reader = DelimitedReader("sst2/train.tsv", {"sentiment": "label"}, text_column="sentence")
    >>> train = reader.read()
    >>> train[0].labels, train[0].source
    ({'sentiment': '0'}, 'sst2/train.tsv:2')
    """

    _unit = "rows"

    name = "delimited"
    config_fields = ("text", "pair")

    def __init__(
        self,
        path,
        columns,
        text_column="text",
        delimiter=None,
        header=True,
        quoted=None,
        on_error="raise",
        pair_column=None,
    ):
        super().__init__(on_error)
        check_mapping("columns", columns, _check_column)
        _check_column("text_column", text_column)
        if pair_column is not None:
            _check_column("pair_column", pair_column)
        if text_column in columns.values():
            raise ValueError(
                f"The text column cannot be a label column. Received: text_column={text_column!r}, "
                f"columns={columns!r}"
            )
        check_choice("header", header, (True, False))
        if not header and any(isinstance(c, str) for c in [text_column, *columns.values()]):
            raise ValueError(
                f"Without a header, columns are given by position (int). Received: header=False, "
                f"text_column={text_column!r}, columns={columns!r}"
            )
        if delimiter is None:
            _default_delimiter(path)  # raises if the extension does not tell
        elif not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
            raise invalid_argument("delimiter", delimiter, "one character other than a line end or '\"'")
        check_choice("quoted", quoted, (True, False, None))
        self.path = path
        self.columns = columns
        self.text_column = text_column
        self.delimiter = delimiter
        self.header = header
        self.quoted = quoted
        self.pair_column = pair_column

    @property
    def tasks(self):
        return {task: SENTENCE for task in self.columns}

    @property
    def _where(self):
        return os.fspath(self.path)

    def _records(self):
        path = self._where
        delimiter = self.delimiter or _default_delimiter(path)
        quoted = delimiter != "\t" if self.quoted is None else self.quoted
        rows = csv.reader(
            (line + "\n" for _, line in read_lines(path)),
            delimiter=delimiter,
            quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
            strict=True,
        )
        first_row, indexes, records, end = None, None, 0, 0
        while True:
            start = end + 1  # the row's first line
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as err:
                if rows.line_num - start > 0 and "end of data" in str(err):
                    # A quote never closed swallowed every later line: skipping
                    # it would silently lose them, so this is never skippable.
                    raise DataError(
                        f"{path}:{start}: quote opened here is never closed; lines {start}-{rows.line_num} "
                        f"were read as one field ({err})"
                    ) from None
                end = rows.line_num
                records += 1
                yield BadRecord(f"{path}:{start}", f"bad quoting ({err})")
                continue
            end = rows.line_num
            fields = [field.strip() for field in row]
            if not any(fields):
                continue
            if first_row is None:
                first_row = (len(fields), start)
                indexes = self._indexes(fields, start)
                if self.header:
                    continue
            records += 1
            yield self._example(fields, indexes, first_row, f"{path}:{start}")
        if self.header and first_row is not None and records == 0:
            raise DataError(f"{path}: no rows after the header on line {first_row[1]}")

    def _indexes(self, fields, line):
        """Position of the text and of each task's column, from the first row."""
        place = f"{self._where}:{line}"

        def index(name, column):
            if isinstance(column, int):
                if not -len(fields) <= column < len(fields):
                    what = "the header" if self.header else "the first row"
                    raise DataError(
                        f"{place}: column {column} ({name}) is out of range; {what} has {len(fields)} columns"
                    )
                return column % len(fields)
            if column not in fields:
                raise DataError(f"{place}: no column {column!r} ({name}); the header has {fields}")
            if fields.count(column) > 1:
                raise DataError(
                    f"{place}: column {column!r} ({name}) appears {fields.count(column)} times in the header"
                )
            return fields.index(column)

        labels = {task: index(f"columns[{task!r}]", column) for task, column in self.columns.items()}
        pair = None if self.pair_column is None else index("pair_column", self.pair_column)
        return index("text_column", self.text_column), labels, pair

    def _example(self, fields, indexes, first_row, source):
        width, width_line = first_row
        if len(fields) != width:
            what = "the header" if self.header else "the first row"
            problem = f"{len(fields)} fields, expected {width} like {what} (line {width_line})"
            return BadRecord(source, problem)
        text_index, label_indexes, pair_index = indexes
        words = tuple(fields[text_index].split())
        if not words:
            return BadRecord(source, f"empty text (column {self.text_column!r})")
        pair = None
        if pair_index is not None:
            pair = tuple(fields[pair_index].split())
            if not pair:
                return BadRecord(source, f"empty second text (column {self.pair_column!r})")
        labels = {}
        for task, index in label_indexes.items():
            if not fields[index]:
                return BadRecord(source, f"empty label for task {task!r} (column {self.columns[task]!r})")
            labels[task] = fields[index]
        return Example(words=words, labels=labels, source=source, pair=pair)

    @classmethod
    def check_config(cls, dataset, kinds):
        super().check_config(dataset, kinds)
        for task in dataset.tasks:
            if kinds[task].level == TOKEN:
                raise FieldError(
                    f"tasks.{task}",
                    f"a delimited column holds one label per text; {task!r} is {kinds[task].kind} (use joint_nlu, "
                    "conll or jsonl for tags)",
                )

    @classmethod
    def from_config(cls, location, dataset, kinds):
        return cls(
            location, columns=dict(dataset.tasks), text_column=dataset.text if dataset.text is not None else "text",
            pair_column=dataset.pair, on_error=dataset.on_error, **dataset.options,
        )


def read_delimited(path, columns, text_column="text", **kwargs):
    """Reads a TSV or CSV file into a list; see `DelimitedReader`."""
    return DelimitedReader(path, columns, text_column=text_column, **kwargs).read()
