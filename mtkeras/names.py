"""Every tensor name that crosses a boundary, defined once.

The model input, the exported signature and the serving client all use these
names; nothing else in mtkeras spells them out.
"""

# Model input and the exported signature's input: a batch of raw texts.
TEXT = "text"

# Second text of sentence-pair tasks: a model input, and an input of the
# exported pair signature.
TEXT_PAIR = "text_pair"

# Exported signatures: one batch of texts (every single-text task), and, for
# models with sentence-pair tasks, a batch of text pairs (every task).
SERVING_SIGNATURE = "serving_default"
PAIR_SIGNATURE = "serving_pair"


def signature_names(has_pairs):
    """The signatures of an export: `serving_default`, and `serving_pair` for a model with pair tasks."""
    return [SERVING_SIGNATURE] + ([PAIR_SIGNATURE] if has_pairs else [])


# The one metadata field TF Serving's GetModelMetadata knows: a SignatureDefMap.
SIGNATURE_DEF_FIELD = "signature_def"

# Exported outputs shared by every task.
WORDS = "words"  # [B, T] string, the words the model saw, padded with "".
LENGTHS = "lengths"  # [B] int32, number of words in each text.

# Exported outputs of one task: f"{task}{suffix}".
LABEL_SUFFIX = "_label"  # sentence tasks: [B] string, the best label.
SCORE_SUFFIX = "_score"  # sentence tasks: [B] float32, its probability.
PROBS_SUFFIX = "_probs"  # [B, C] (sentence) or [B, T, C] (token) float32.
TAGS_SUFFIX = "_tags"  # token tasks: [B, T] string, one tag per word, "" padded.
LABELS_SUFFIX = "_labels"  # multi-label tasks: [B, C] string, a label where on, else "".
VALUE_SUFFIX = "_value"  # regression tasks: [B] float32.
# Token tasks' entities, read from `_tags` as `mtkeras.tasks.bio_entities` does
# and padded to E, the most entities of any text in the batch (E may be 0):
ENTITY_START_SUFFIX = "_entity_start"  # [B, E] int32, index of the first word, -1 padded.
ENTITY_END_SUFFIX = "_entity_end"  # [B, E] int32, exclusive (words[start:end]), -1 padded.
ENTITY_TYPE_SUFFIX = "_entity_type"  # [B, E] string, "city" for B-city/I-city, "" padded.
ENTITY_COUNT_SUFFIX = "_entity_count"  # [B] int32, number of entities in each text.
ENTITY_SCORE_SUFFIX = "_entity_score"  # [B, E] float32, mean probability of the entity's tags, 0 padded.


def label_key(task_name):
    return task_name + LABEL_SUFFIX


def score_key(task_name):
    return task_name + SCORE_SUFFIX


def probs_key(task_name):
    return task_name + PROBS_SUFFIX


def tags_key(task_name):
    return task_name + TAGS_SUFFIX


def labels_key(task_name):
    return task_name + LABELS_SUFFIX


def value_key(task_name):
    return task_name + VALUE_SUFFIX


def entity_start_key(task_name):
    return task_name + ENTITY_START_SUFFIX


def entity_end_key(task_name):
    return task_name + ENTITY_END_SUFFIX


def entity_type_key(task_name):
    return task_name + ENTITY_TYPE_SUFFIX


def entity_count_key(task_name):
    return task_name + ENTITY_COUNT_SUFFIX


def entity_score_key(task_name):
    return task_name + ENTITY_SCORE_SUFFIX


# Id of a label outside a task's vocabulary (seen in evaluation data, never
# in training): the loss leaves it out, metrics count it as an error.
UNKNOWN_LABEL_ID = -1
# How such a label reads where only its id is known (a dataset rather than
# examples): one class for sentence tasks, one entity type for token tasks.
UNKNOWN_LABEL = "<unknown>"

# Data level of a task: one label per text, or one per word.
SENTENCE = "sentence"
TOKEN = "token"

# Training logs (Keras): `<task>_<metric>`, and `val_<task>_<metric>` on
# validation data.
VALIDATION_PREFIX = "val_"
# The model-wide log beside `loss`: the mean over tasks of each task's
# `score_metric` (higher is better).
SCORE = "score"
# Logs where lower is better (losses; regression's mean absolute error): a monitor on them minimises.
LOWER_IS_BETTER = ("loss", "_mae", "_mean_absolute_error")


def window_key(monitor, window):
    """The log of `monitor`'s mean over the last `window` epochs (`val_score_mean3`); `monitor` itself for 1."""
    return monitor if window == 1 else f"{monitor}_mean{window}"


def split_log_key(key, tasks):
    """`("train" or "val", task, metric)` of a Keras log key; `(split, None, key)` for no task.

    The key belongs to the task whose name, followed by `_`, starts it (after
    a leading `val_` for validation); when several fit (`topic` and
    `topic_labels`), the longest wins. A task whose own name starts with
    `val_` is matched too.
    """
    candidates = []
    if key.startswith(VALIDATION_PREFIX):
        candidates.append(("val", key[len(VALIDATION_PREFIX):]))
    candidates.append(("train", key))
    for split, rest in candidates:
        owners = [task for task in tasks if rest.startswith(task + "_") and len(rest) > len(task) + 1]
        if owners:
            task = max(owners, key=len)
            return split, task, rest[len(task) + 1:]
    split, rest = candidates[0]
    return split, None, rest
