"""Config files: every example loads; every mistake is named by file, line, field and value."""

import glob
import os
import textwrap

import pytest

from helpers.processes import REPO_ROOT
from mtkeras.runs import Config, ConfigError, config_to_dict, load_config, parse_config

ROOT = REPO_ROOT

GOOD = """\
name: demo
tasks:
  intent: {kind: sentence_classification}
  slots: {kind: token_tagging}
  sentiment:
    kind: sentence_classification
    loss_weight: 0.5
datasets:
  assistant:
    reader: joint_nlu
    train: data/assistant/train
    valid: data/assistant/valid
    tasks: {intent: label, slots: tags}
  feedback:
    reader: joint_nlu
    train: data/feedback/train
    tasks: {sentiment: label}
training:
  epochs: 3
  batch_size: 16
"""


def errors(text, overrides=()):
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), "cfg.yaml", overrides)
    return str(caught.value).splitlines()


def with_lines(extra_training="", extra=""):
    return GOOD.replace("  batch_size: 16\n", "  batch_size: 16\n" + extra_training) + extra


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml"))))
def test_every_example_config_loads(path):
    config = load_config(path)
    assert config.tasks and config.datasets
    # Every dataset labels only declared tasks and every task is trained.
    assert {t for d in config.datasets.values() for t in d.tasks} == set(config.tasks)


def test_example_configs_exist():
    names = {os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "configs", "*.yaml"))}
    assert {"demo.yaml", "snips.yaml", "multitask.yaml", "minilm.yaml"} <= names


def test_defaults_are_filled_in():
    config = parse_config(GOOD)
    assert config.training.optimizer.name == "adam"
    assert config.training.optimizer.learning_rate is None  # chosen by encoder kind
    assert config.mixing.sampling == "temperature"
    assert config.encoder.name == "bilstm"
    assert config.run_directory == "runs/demo"
    assert config.export_base_path == "saved_models/demo"
    assert config.monitor == ("val_score", "max")
    plain = config_to_dict(config)
    assert plain["training"]["schedule"] == {"name": "warmup_cosine", "warmup_fraction": 0.05}
    assert config_to_dict(Config.model_validate(plain)) == plain  # a run directory's config.yaml reads back as it was
    # Each task's options read as its fields, defaults included.
    assert config.tasks["sentiment"].loss_weight == 0.5 and config.tasks["slots"].crf is False
    with pytest.raises(AttributeError):
        config.tasks["intent"].crf  # not an option of sentence_classification


def test_the_json_schema_lists_every_kind_option_and_reader():
    schema = Config.model_json_schema()
    task = schema["$defs"]["TaskConfig"]
    assert task["properties"]["kind"]["enum"] == ["sentence_classification", "multi_label_classification", "token_tagging", "regression"]
    assert {"loss_weight", "dropout", "labels", "thresholds", "crf", "pair", "sentence_context"} <= set(task["properties"])
    assert task["properties"]["crf"]["description"].startswith("token_tagging:")
    assert task["additionalProperties"] is False


def test_the_issue_example_message_with_its_line():
    text = GOOD.replace("batch_size: 16", "batch_size: -3")
    assert errors(text) == ["cfg.yaml:20: training.batch_size: expected a positive integer, got -3"]


@pytest.mark.parametrize(
    "change, expected",
    [
        (("epochs: 3", "epochs: three"), "cfg.yaml:19: training.epochs: expected a positive integer, got 'three'"),
        (("epochs: 3", "epochs: 2.5"), "cfg.yaml:19: training.epochs: expected a positive integer, got 2.5"),
        (("epochs: 3", "epochs: 0"), "cfg.yaml:19: training.epochs: expected a positive integer, got 0"),
        (("  batch_size: 16", "  batchsize: 16"),
         "cfg.yaml:20: training.batchsize: unknown field; did you mean 'batch_size'?"),
        (("kind: token_tagging", "kind: tagging"),
         "cfg.yaml:4: tasks.slots.kind: expected one of 'sentence_classification', 'multi_label_classification', "
         "'token_tagging' or 'regression', got 'tagging'"),
        (("kind: token_tagging", "kind: token_taging"), "got 'token_taging'; did you mean 'token_tagging'?"),
        (("  batch_size: 16", "  batch_size: 16\n  optimizer: {name: adamw_}"),
         "training.optimizer.name: expected one of 'adam' or 'adamw', got 'adamw_'; did you mean 'adamw'?"),
        (("loss_weight: 0.5", "loss_weight: -1"), "cfg.yaml:7: tasks.sentiment.loss_weight: expected a number >= 0, got -1"),
        (("reader: joint_nlu\n    train: data/a", "reader: csv\n    train: data/a"),
         "cfg.yaml:10: datasets.assistant.reader: expected one of"),
        (("{sentiment: label}", "{sentimnt: label}"),
         "datasets.feedback.tasks.sentimnt: unknown task; did you mean 'sentiment'?"),
        (("{intent: label, slots: tags}", "{intent: tags, slots: tags}"),
         "datasets.assistant.tasks.intent: column 'tags' labels a token task, but 'intent' is sentence_classification"),
        (("{intent: label, slots: tags}", "{intent: label, slots: seq.out}"),
         "cfg.yaml:13: datasets.assistant.tasks.slots: joint_nlu columns are 'label' and 'tags', got 'seq.out'"),
    ],
)
def test_field_errors_name_line_path_and_value(change, expected):
    old, new = change
    assert old in GOOD
    lines = errors(GOOD.replace(old, new, 1))
    assert any(line.startswith(expected) or expected in line for line in lines), lines


def test_every_problem_is_reported_at_once():
    text = GOOD.replace("epochs: 3", "epochs: -1").replace("batch_size: 16", "batch_size: x")
    lines = errors(text)
    assert len(lines) == 2
    assert lines[0].startswith("cfg.yaml:19: training.epochs") and lines[1].startswith("cfg.yaml:20: training.batch_size")


def test_cross_field_rules():
    # An option that does not fit the task kind.
    lines = errors(GOOD.replace("slots: {kind: token_tagging}", "slots: {kind: token_tagging, thresholds: 0.3}"))
    assert any("tasks.slots.thresholds: does not apply to kind 'token_tagging'" in line for line in lines), lines
    # The same option at the value it has when absent changes nothing: accepted (configs written for several kinds).
    config = parse_config(GOOD.replace("slots: {kind: token_tagging}", "slots: {kind: token_tagging, thresholds: 0.5, pair: false}"))
    assert not hasattr(config.tasks["slots"].options, "thresholds")
    # A kind that is not a name gets the list of kinds.
    lines = errors(GOOD.replace("slots: {kind: token_tagging}", "slots: {kind: 3}"))
    assert any("tasks.slots.kind: expected one of 'sentence_classification'" in line and "got 3" in line for line in lines), lines
    # A task nobody trains.
    lines = errors(GOOD.replace("    tasks: {sentiment: label}", "    test: data/feedback/test\n    tasks: {sentiment: label}")
                   .replace("    train: data/feedback/train\n", ""))
    assert any("tasks.sentiment: no dataset with a train split labels this task" in line for line in lines), lines
    # Explicit sampling weights.
    lines = errors(GOOD + "mixing: {sampling: weights}\n")
    assert any("datasets.assistant.weight: required when mixing.sampling is 'weights'" in line for line in lines), lines
    # Monitor.
    lines = errors(with_lines("  monitor: val_intnt_accuracy\n"))
    assert any("training.monitor: 'val_intnt_accuracy' is not logged; did you mean 'val_intent_accuracy'?" in line
               for line in lines), lines
    # A metric the task's kind does not log never picks an epoch: refused.
    lines = errors(with_lines("  monitor: val_intent_f1\n"))
    assert any("training.monitor: 'val_intent_f1' is not logged" in line and "val_intent_accuracy" in line
               and "val_score" in line for line in lines), lines
    # Encoder options are the encoder's own arguments.
    lines = errors(GOOD + "encoder: {name: bilstm, config: {hidden_dims: 64}}\n")
    assert any("encoder.config.hidden_dims: not an option of bilstm; did you mean 'hidden_dim'?" in line for line in lines), lines
    # The words seen once come from the training texts, not from the file.
    lines = errors(GOOD + "encoder: {name: bilstm, config: {first_singleton_id: 5}}\n")
    assert any("encoder.config.first_singleton_id: not an option of bilstm" in line for line in lines), lines
    lines = errors(GOOD + "encoder: {name: lstm}\n")
    assert any("encoder.name: unknown encoder 'lstm'" in line for line in lines), lines


def test_pair_tasks_need_a_pair_column():
    text = """\
    name: nli
    tasks:
      entailment: {kind: sentence_classification, pair: true}
    datasets:
      snli:
        reader: delimited
        train: snli.tsv
        text: premise
        tasks: {entailment: label}
    """
    assert any("datasets.snli.pair: tasks ['entailment'] read two texts" in line for line in errors(text))
    config = parse_config(textwrap.dedent(text).replace("text: premise", "text: premise\n    pair: hypothesis"))
    assert config.datasets["snli"].pair == "hypothesis"


def test_yaml_syntax_errors_give_line_and_column():
    lines = errors("name: demo\ntasks: {intent: [\n")
    assert lines[0].startswith("cfg.yaml:3:") and "not valid YAML" in lines[0]
    assert errors("- a\n- b\n") == ["cfg.yaml:1: expected a mapping of sections (name, tasks, datasets, ...), got ['a', 'b']"]
    assert "name: required field is missing" in errors("tasks: {}\n")[0] or any(
        "name: required field is missing" in line for line in errors("tasks: {}\n")
    )


def test_overrides_apply_and_are_blamed_on_set():
    config = parse_config(GOOD, "cfg.yaml", ["training.epochs=7", "encoder.config={num_layers: 1}"])
    assert config.training.epochs == 7 and config.encoder.config == {"num_layers": 1}
    assert errors(GOOD, ["training.batch_size=-3"]) == ["--set: training.batch_size: expected a positive integer, got -3"]
    with pytest.raises(ConfigError, match="expected FIELD=VALUE"):
        parse_config(GOOD, "cfg.yaml", ["training.epochs"])


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the config"):
        load_config(tmp_path / "missing.yaml")


def test_more_mistakes_found_before_training():
    # A delimited column holds one label per text: it cannot tag words.
    text = GOOD.replace("  feedback:\n    reader: joint_nlu\n    train: data/feedback/train\n    tasks: {sentiment: label}",
                        "  feedback:\n    reader: delimited\n    train: f.tsv\n    tasks: {sentiment: label, slots: tags}")
    assert any("datasets.feedback.tasks.slots: a delimited column holds one label per text" in line
               for line in errors(text)), errors(text)
    # Booleans are not numbers; YAML keys may not repeat.
    assert errors(GOOD.replace("epochs: 3", "epochs: true")) == [
        "cfg.yaml:19: training.epochs: expected a positive integer, got True"]
    assert errors(GOOD + "training: {epochs: 2}\n") == ["cfg.yaml:21: 'training' appears twice (first at line 18)"]
    # File order needs bucketing off; a single source only.
    lines = errors(with_lines("  shuffle: false\n"))
    assert any("training.shuffle: false needs a single training dataset" in line for line in lines), lines
    # Encoders: bert needs its preset, a preset folder must exist.
    assert any("encoder.config.preset: encoder bert needs the preset" in line
               for line in errors(GOOD + "encoder: {name: bert}\n"))
    assert any("encoder.name: no such preset folder: './presets/nope'" in line
               for line in errors(GOOD + "encoder: {name: ./presets/nope}\n"))


def test_the_monitor_direction_follows_the_metric():
    regression = GOOD.replace("sentiment:\n    kind: sentence_classification\n    loss_weight: 0.5",
                              "sentiment:\n    kind: regression")
    with_monitor = regression.replace("  batch_size: 16\n", "  batch_size: 16\n  monitor: val_sentiment_mae\n")
    assert parse_config(with_monitor).monitor == ("val_sentiment_mae", "min")
    assert parse_config(with_lines("  monitor: val_intent_accuracy\n")).monitor == ("val_intent_accuracy", "max")
    assert parse_config(with_lines("  monitor: val_slots_loss\n")).monitor == ("val_slots_loss", "min")
    assert parse_config(with_lines("  monitor: val_slots_f1\n")).monitor == ("val_slots_f1", "max")
    assert parse_config(with_lines("  monitor: score\n")).monitor == ("score", "max")
    with_pearson = regression.replace("  batch_size: 16\n", "  batch_size: 16\n  monitor: val_sentiment_pearson\n")
    assert parse_config(with_pearson).monitor == ("val_sentiment_pearson", "max")
    # The saved epoch: the monitor's own value, or its mean over `monitor_window` epochs (same direction).
    assert parse_config(GOOD).selection == ("val_score", "max")
    assert parse_config(with_lines("  monitor_window: 3\n")).selection == ("val_score_mean3", "max")
    windowed_mae = with_monitor.replace("  monitor: val_sentiment_mae\n", "  monitor: val_sentiment_mae\n  monitor_window: 2\n")
    assert parse_config(windowed_mae).selection == ("val_sentiment_mae_mean2", "min")
    assert any("cfg.yaml:21: training.monitor_window: expected a number >= 1, got 0" in line
               for line in errors(GOOD.replace("  batch_size: 16\n", "  batch_size: 16\n  monitor_window: 0\n")))
