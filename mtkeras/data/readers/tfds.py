"""TensorFlow Datasets reader: a registered TFDS dataset split to `Example`s.

A mapping names the text feature and, per mtkeras task, the feature that
labels it. Whether a task is a sentence or a token task follows from the
feature's spec: a scalar feature (`ClassLabel`, `Text`, an int) labels the
whole text, a one-dimensional feature (`Sequence(ClassLabel(...))`,
`Sequence(Text())`) gives one tag per word.

    reader = TfdsReader("conll2003", "train", text="tokens", task_features={"entities": "ner"})
    reader.task_kinds            # {"entities": "token"}
    for example in reader:       # Example(words=(...), labels={"entities": ("B-ORG", "O", ...)})
        ...

Nothing is downloaded unless `download=True`.
"""

import difflib
from collections.abc import Mapping

from mtkeras.data.readers.base import SENTENCE, TOKEN, BadRecord, DataError, Example, Reader
from mtkeras.data.readers.registry import register_reader
from mtkeras.errors import FieldError


# Known mappings, used for the arguments `text` / `task_features` left out. Keys are
# "dataset/config" (that config only) or "dataset" (every config). All are
# registered in tensorflow-datasets 4.9.10 (tests/data/test_tfds_reader.py checks
# each against the installed builders' features).
PRESETS = {
    "glue/sst2": {"text": "sentence", "task_features": {"sentiment": "label"}},
    "imdb_reviews/plain_text": {"text": "text", "task_features": {"sentiment": "label"}},
    "yelp_polarity_reviews": {"text": "text", "task_features": {"sentiment": "label"}},
    "clinc_oos": {"text": "text", "task_features": {"intent": "intent_name", "domain": "domain_name"}},
    "trec": {"text": "text", "task_features": {"question_type": "label-coarse"}},
    "conll2003": {"text": "tokens", "task_features": {"entities": "ner"}},
    "conll2002": {"text": "tokens", "task_features": {"entities": "ner"}},
    "wikiann": {"text": "tokens", "task_features": {"entities": "tags"}},
}




def _tfds():
    # Imported on first use: `import mtkeras.data` stays free of TFDS' import time.
    import tensorflow_datasets as tfds

    return tfds


class _SkipExample(Exception):
    """One example's problem; raised or recorded depending on `on_error`."""


@register_reader
class TfdsReader(Reader):
    """Streams `Example`s from a TensorFlow Datasets split.

    Args:
        name: str. A registered TFDS name, "dataset" or "dataset/config",
            optionally with ":version" (e.g. "glue/sst2", "conll2003").
        split: str. A TFDS split, slicing allowed (e.g. "train",
            "validation[:10%]").
        text: str or None. The feature holding the text: one string (split
            into words with `str.split()`) or a sequence of strings (the words,
            used as they are). None: from `PRESETS`.
        task_features: dict or None. mtkeras task name -> feature name. A scalar
            feature gives a sentence task, a one-dimensional feature a token
            task (one tag per word). `ClassLabel` values become their names;
            string and integer values become str. None: from `PRESETS`.
        data_dir: str or None. TFDS data folder (None: TFDS' default,
            `$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
        download: bool. Call `download_and_prepare` first (default False:
            reading an unprepared dataset is an error).
        on_error: "raise" or "skip". What a bad example does: raise a
            `DataError`, or be left out and recorded in `.skipped`.

    Attributes:
        task_kinds: dict of task name -> "sentence" or "token" (also `tasks`,
            as the file readers name it).
        task_features: dict of task name -> feature name (the mapping used).
        text: str. The text feature used.
        skipped: list of `(source, reason)` left out by the latest pass; a
            pass that skipped some logs one warning, one that kept none raises.

    Each example's `source` is "tfds:<name>/<split>:<index>", index counted
    from 0 in the split's order. A `ClassLabel` value of -1 (TFDS' mark for
    "no label", e.g. GLUE test splits) leaves the task unlabelled.

    Raises:
        DataError: for an unknown dataset, config or feature, a feature that
        cannot label a task, a dataset that is not prepared, and (unless
        `on_error="skip"`) an empty text, an empty word, a label out of its
        `ClassLabel` range or a tag count that differs from the word count.
    """

    name = "tfds"
    config_fields = ("text", "name")
    reads_files = False  # a split is a TFDS split name

    def __init__(
        self,
        name,
        split,
        text=None,
        task_features=None,
        data_dir=None,
        download=False,
        on_error="raise",
    ):
        super().__init__(on_error)
        self.name = name
        self.split = split
        self.data_dir = data_dir
        self._where = f"tfds:{name}/{split}"
        self._builder = _make_builder(name, data_dir, self._where)
        features = self._builder.info.features

        if text is None or task_features is None:
            preset = _find_preset(self._builder)
            if preset is None:
                missing = " and ".join(a for a, v in (("text", text), ("task_features", task_features)) if v is None)
                raise DataError(
                    f"{self._where}: no preset mapping for this dataset; pass {missing} "
                    f"(features: {_describe(features)}; presets exist for {sorted(PRESETS)})"
                )
            text = preset["text"] if text is None else text
            task_features = dict(preset["task_features"]) if task_features is None else task_features
        if not isinstance(text, str):
            raise TypeError(f"text must be a feature name (str), got {text!r}")
        if not isinstance(task_features, Mapping) or not task_features:
            raise DataError(
                f"{self._where}: task_features must be a non-empty dict of task name -> feature name, got {task_features!r}"
            )
        self.text = text
        self.task_features = dict(task_features)

        self._text_feature = self._lookup(features, text, "the text")
        rank = _rank(self._text_feature)
        if rank not in (0, 1) or not _is_string(self._text_feature):
            raise DataError(
                f"{self._where}: text feature {text!r} is {_short(self._text_feature)}; it must be a "
                "string or a sequence of strings"
            )
        self._text_is_words = rank == 1

        self.task_kinds = {}
        self._converters = {}
        for task, feature_name in self.task_features.items():
            feature = self._lookup(features, feature_name, f"task {task!r}")
            rank = _rank(feature)
            if rank not in (0, 1):
                raise DataError(
                    f"{self._where}: feature {feature_name!r} (task {task!r}) is {_short(feature)}; a task "
                    "needs one value per text or one per word"
                )
            self.task_kinds[task] = SENTENCE if rank == 0 else TOKEN
            self._converters[task] = _label_converter(feature, feature_name, task, self._where)

        if download:
            self._builder.download_and_prepare()
        self._dataset = self._open()

    def _lookup(self, features, feature_name, role):
        if not isinstance(feature_name, str) or feature_name not in features:
            close = difflib.get_close_matches(str(feature_name), list(features), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise DataError(
                f"{self._where}: unknown feature {feature_name!r} for {role}{hint} "
                f"(available features: {_describe(features)})"
            )
        return features[feature_name]

    def _open(self):
        try:
            return self._builder.as_dataset(split=self.split)
        except AssertionError as err:
            if "could not find data" not in str(err):
                raise DataError(f"{self._where}: {err}") from err
            raise DataError(
                f"{self._where}: dataset {self._builder.info.full_name} is not prepared in "
                f"data_dir {self._builder.data_dir_root} (looked for {self._builder.data_dir}). "
                "Pass download=True to download and prepare it, or prepare it beforehand "
                f"(`tfds build {self.name} --data_dir=...` or builder.download_and_prepare()), "
                "or pass the data_dir that holds it."
            ) from None
        except (ValueError, KeyError) as err:
            splits = sorted(self._builder.info.splits)
            known = f" (splits: {splits})" if splits else ""
            raise DataError(f"{self._where}: cannot read split {self.split!r}: {err}{known}") from err

    def _records(self):
        for index, record in enumerate(_tfds().as_numpy(self._dataset)):
            source = f"{self._where}:{index}"
            try:
                yield self._example(record, source)
            except _SkipExample as err:
                yield BadRecord(source, str(err))

    def _empty_message(self):
        return f"{self._where}: no examples in this split"

    @property
    def tasks(self):
        """Dict of task name to kind, as the file readers report it (= `task_kinds`)."""
        return dict(self.task_kinds)

    def _example(self, record, source):
        raw = record[self.text]
        if self._text_is_words:
            words = tuple(_decode(w) for w in raw)
            for i, word in enumerate(words):
                if not word.strip():
                    raise _SkipExample(f"word {i} of {self.text!r} is empty (words: {_clip(words)})")
        else:
            words = tuple(_decode(raw).split())
        if not words:
            raise _SkipExample(f"empty text (feature {self.text!r})")
        labels = {}
        for task, feature_name in self.task_features.items():
            value = self._converters[task](record[feature_name])
            if value is None:
                continue  # -1: no label for this task
            if self.task_kinds[task] == TOKEN and len(value) != len(words):
                raise _SkipExample(
                    f"{len(value)} tags in {feature_name!r} for {len(words)} words in {self.text!r} "
                    f"(task {task!r}; words: {_clip(words)}; tags: {_clip(value)})"
                )
            labels[task] = value
        return Example(words=words, labels=labels, source=source)

    @classmethod
    def check_config(cls, dataset, kinds):
        super().check_config(dataset, kinds)
        if not dataset.name:
            raise FieldError("name", "reader tfds needs the dataset name, e.g. glue/sst2")

    @classmethod
    def from_config(cls, location, dataset, kinds):
        return cls(dataset.name, location, text=dataset.text, task_features=dict(dataset.tasks),
                   on_error=dataset.on_error, **dataset.options)


def read_tfds(name, split, text=None, task_features=None, **kwargs):
    """Reads a TFDS split into a list of `Example`s; see `TfdsReader`.

    Example:
        train = read_tfds("glue/sst2", "train", "sentence", {"sentiment": "label"})
        train[0].labels          # {"sentiment": "negative"} or {"sentiment": "positive"}
    """
    return TfdsReader(name, split, text=text, task_features=task_features, **kwargs).read()


def _make_builder(name, data_dir, where):
    tfds = _tfds()
    if not isinstance(name, str) or not name:
        raise DataError(f"{where}: dataset name must be a non-empty str, got {name!r}")
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        family, _ = _parse_name(name)
        candidates = sorted(set(tfds.list_builders(with_community_datasets=False)))
        names = sorted(set(candidates) | set(PRESETS))
        close = difflib.get_close_matches(family, names, n=5, cutoff=0.6)
        if not close:
            close = difflib.get_close_matches(name.lower(), names, n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; no registered name is close"
        raise DataError(
            f"{where}: unknown TFDS dataset {family!r}{hint} "
            f"({len(candidates)} registered, see tfds.list_builders())"
        ) from None
    except (ValueError, AssertionError) as err:
        message = str(err)
        family, config = _parse_name(name)
        try:
            configs = list(tfds.builder_cls(family).builder_configs)
        except Exception:  # noqa: BLE001 - only used to improve the message
            configs = []
        if "BuilderConfig" in message and configs:
            close = difflib.get_close_matches(config, configs, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(f'{family}/{c}' for c in close)}?" if close else ""
            raise DataError(
                f"{where}: dataset {family!r} has no config {config!r}{hint} (configs: {configs})"
            ) from None
        raise DataError(f"{where}: cannot build TFDS dataset {name!r}: {message}") from err


def _parse_name(name):
    """"glue/sst2:2.0.0" -> ("glue", "sst2"); config "" when not given."""
    try:
        dataset, kwargs = _tfds().core.naming.parse_builder_name_kwargs(name)
        return dataset.name, str(kwargs.get("config") or "")
    except Exception:  # noqa: BLE001 - a name TFDS cannot parse; best effort
        family, _, config = name.split(":")[0].partition("/")
        return family, config.split("/")[0]


def _find_preset(builder):
    config = builder.builder_config.name if builder.builder_config is not None else None
    for key in ([f"{builder.name}/{config}"] if config else []) + [builder.name]:
        if key in PRESETS:
            return PRESETS[key]
    return None


def _clip(items, limit=12):
    """A short, readable rendering of a long word or tag tuple for messages."""
    shown = " ".join(repr(item) if not item.strip() or " " in item else item for item in items[:limit])
    return shown + (f" ... ({len(items)} in all)" if len(items) > limit else "")


def _describe(features):
    return ", ".join(f"{key} ({_short(features[key])})" for key in features)


def _short(feature):
    return " ".join(repr(feature).split())


def _rank(feature):
    shape = feature.shape
    return len(shape) if isinstance(shape, tuple) else None


def _leaf(feature):
    tfds = _tfds()
    while isinstance(feature, tfds.features.Sequence):
        feature = feature.feature
    return feature


def _is_string(feature):
    return getattr(getattr(feature, "dtype", None), "name", None) == "string"


def _decode(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as err:
            reason = f"not valid UTF-8 ({err.reason} at byte {err.start}: {value[:40]!r})"
            raise _SkipExample(reason) from None
    return str(value)


def _label_converter(feature, feature_name, task, where):
    """The function turning one numpy value of `feature` into a label or tags.

    Returns None for "no label" (`ClassLabel` -1, in every position).
    """
    tfds = _tfds()
    leaf = _leaf(feature)
    dtype = getattr(feature, "dtype", None)
    token = _rank(feature) == 1

    if isinstance(leaf, tfds.features.ClassLabel):
        names = list(leaf.names)

        def one(value):
            value = int(value)
            if 0 <= value < len(names):
                return names[value]
            raise _SkipExample(
                f"{feature_name!r} (task {task!r}) has class id {value}, outside 0..{len(names) - 1}"
            )

        if not token:
            return lambda value: None if int(value) == -1 else one(value)

        def tags(values):
            if len(values) and all(int(v) == -1 for v in values):
                return None
            return tuple(one(v) for v in values)

        return tags

    if dtype is None or not (dtype.name == "string" or dtype.is_integer or dtype.is_bool):
        raise DataError(
            f"{where}: feature {feature_name!r} (task {task!r}) is {_short(feature)}; labels must "
            "be ClassLabel, string, integer or bool values (regression targets are not supported)"
        )

    def text(value):
        if dtype.name == "string":
            label = _decode(value)
        else:
            label = str(value.item() if hasattr(value, "item") else value)
        if not label.strip():
            raise _SkipExample(f"empty label in {feature_name!r} (task {task!r})")
        return label

    if not token:
        return text
    return lambda values: tuple(text(v) for v in values)
