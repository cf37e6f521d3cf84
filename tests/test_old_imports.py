"""Names users imported before the package was reorganized (README, notebooks, scripts) still import."""

import importlib

import pytest

# module -> names, as the README, the notebooks and scripts of earlier releases import them.
OLD_NAMES = {
    "mtkeras.config": ["Config", "ConfigError", "load_config", "parse_config", "config_to_dict", "TASK_KINDS", "READERS"],
    "mtkeras.run": ["train", "evaluate_run", "export_run", "read_split", "read_history", "RunError", "config_changes"],
    "mtkeras.reports": ["history_rows"],
    "mtkeras.data.demo": ["generate_demo_corpus"],
    "mtkeras.encoders": ["ENCODERS", "PRETRAINED", "get_encoder", "BiLSTMEncoder", "PretrainedEncoder"],
    "mtkeras.heads": ["decode_bio", "viterbi_decode", "crf_marginals", "RegressionHead", "TokenClassificationHead"],
    "mtkeras.serving.config": ["read_model_config_file", "read_batching_parameters_file", "ConfigError"],
    "mtkeras.serving.client": ["Client", "RestClient", "format_result", "same_answers"],
    "mtkeras.serving.rest": ["json_to_array"],
}


@pytest.mark.parametrize("module", sorted(OLD_NAMES))
def test_old_import_paths_still_work(module):
    imported = importlib.import_module(module)
    missing = [name for name in OLD_NAMES[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lost {missing}"


def test_old_registry_views_follow_the_registries():
    from mtkeras import config, encoders

    assert config.TASK_KINDS == ("sentence_classification", "multi_label_classification", "token_tagging", "regression")
    assert config.READERS == ("joint_nlu", "conll", "delimited", "jsonl", "tfds")
    # stacked adapts its word vocabulary on the training texts too (its transformer's pieces come with it).
    assert set(encoders.ENCODERS) == {"bilstm", "cnn", "transformer", "stacked"}
    assert encoders.PRETRAINED == ("bert", "minilm")
    with pytest.raises(ValueError, match="'minilm' is pretrained"):
        encoders.get_encoder("minilm", 100)
