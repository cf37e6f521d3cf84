"""`mtkeras validate CONFIG`: read every dataset of a config without training, and say what is in it.

For each source and split: the number of examples, or the first bad line
(file and line, as the reader reports it). For each task: its label
distribution on the training split, the labels of the valid and test splits
that training never shows, and the examples with no words. Across splits:
texts of the test (and valid) split that are also training texts. Problems
that stop a run are errors; the others are warnings.
"""

import collections
import itertools
import json

from mtkeras.errors import ConfigError, DataError
from mtkeras.names import TOKEN
from mtkeras.ops.bio import bio_entity_part
from mtkeras.runs.inputs import read_split
from mtkeras.runs.schema import SPLITS

# Examples of each problem shown in the report.
SHOWN = 3


def _read_all(config):
    """`({(source, split): [Example]}, errors)`, each split read on its own so that one bad file hides no other."""
    read, errors = {}, []
    for split in SPLITS:
        for source, dataset in config.datasets.items():
            if not getattr(dataset, split):
                continue
            one = config.model_copy(update={"datasets": {source: dataset}})
            try:
                read[source, split] = read_split(one, split)[source]
            except (ConfigError, DataError) as error:
                errors.append(f"{source}/{split}: {error}")
    return read, errors


def _labels(example, task, kind):
    """The labels one example gives `task`, as counted in a distribution (entity types for token tasks)."""
    value = example.labels.get(task)
    if value is None:
        return []
    if kind.level == TOKEN:
        parts = [bio_entity_part(tag) for tag in value]
        return [part[1] for part in parts if part is not None and part[0] == "B"]
    if isinstance(value, (list, tuple)):
        return [str(label) for label in value]
    return [value if isinstance(value, str) else None]


def validate_config(config):
    """A report (a dict) of the config's data: counts, label distributions, problems; `report["errors"]` stops a run."""
    read, errors = _read_all(config)
    warnings = []
    counts = {source: {split: len(read[source, split]) for split in SPLITS if (source, split) in read}
              for source in config.datasets}
    tasks = {}
    for task, spec in config.tasks.items():
        kind = spec.kind_class
        by_split = collections.defaultdict(collections.Counter)
        labelled = collections.Counter()
        for (source, split), examples in read.items():
            for example in examples:
                if task in example.labels and example.labels[task] is not None:
                    labelled[split] += 1
                    by_split[split].update(label for label in _labels(example, task, kind) if label is not None)
        row = {"kind": spec.kind, "labelled": dict(labelled)}
        if kind.level == TOKEN or by_split["train"]:
            row["train_labels"] = dict(by_split["train"].most_common())
        known = set(getattr(spec.options, "labels", None) or []) or set(by_split["train"])
        for split in ("valid", "test"):
            unseen = sorted(set(by_split[split]) - known)
            if unseen and known:
                what = "entity types" if kind.level == TOKEN else "labels"
                warnings.append(f"tasks.{task}: {split} {what} never seen in training: {', '.join(unseen[:10])}"
                                + (f" (and {len(unseen) - 10} more)" if len(unseen) > 10 else ""))
        if labelled["train"] == 0 and any(getattr(d, "train") and task in d.tasks for d in config.datasets.values()):
            errors.append(f"tasks.{task}: no training example labels it")
        tasks[task] = row
    for (source, split), examples in read.items():
        empty = [example.source for example in examples if not example.words]
        if empty:
            warnings.append(f"{source}/{split}: {len(empty)} empty texts, e.g. {', '.join(empty[:SHOWN])}")
    train_texts = {example.text for (source, split), examples in read.items() if split == "train" for example in examples}
    overlaps = {}
    for split in ("valid", "test"):
        shared = [example for (source, other), examples in read.items() if other == split for example in examples
                  if example.words and example.text in train_texts]
        overlaps[split] = len(shared)
        if shared:
            shown = "; ".join(f"{example.source}: {example.text!r}" for example in shared[:SHOWN])
            warnings.append(f"{split} texts also in training: {len(shared)}, e.g. {shown}")
    return {"counts": counts, "tasks": tasks, "overlaps": overlaps, "warnings": warnings, "errors": errors}


def format_report(report):
    """The report as lines of text for a terminal."""
    lines = ["examples per source and split:"]
    for source, splits in report["counts"].items():
        shown = "  ".join(f"{split} {count}" for split, count in splits.items()) or "none read"
        lines.append(f"  {source:<16} {shown}")
    lines.append("tasks:")
    for task, row in report["tasks"].items():
        labelled = "  ".join(f"{split} {count}" for split, count in row["labelled"].items())
        lines.append(f"  {task:<16} {row['kind']}; labelled: {labelled or 'none'}")
        if row.get("train_labels"):
            top = list(itertools.islice(row["train_labels"].items(), 8))
            more = len(row["train_labels"]) - len(top)
            lines.append("    train labels: " + ", ".join(f"{label} {count}" for label, count in top)
                         + (f", ... ({more} more)" if more > 0 else ""))
    lines += [f"warning: {warning}" for warning in report["warnings"]]
    lines += [f"error: {error}" for error in report["errors"]]
    verdict = "errors: a run would stop" if report["errors"] else "ok" + (" (with warnings)" if report["warnings"] else "")
    lines.append(f"{verdict}")
    return "\n".join(lines)


def report_json(report):
    return json.dumps(report, indent=2, ensure_ascii=False)
