"""Layer-wise learning-rate decay: the factors, one Adam step, saving, a config.

(Under MirroredStrategy the factor is found by `Optimizer._get_variable_index`,
the lookup Adam's own slots use there, so the rates follow the variables as
the moments do.)
"""

import json

import keras
import keras_hub
import numpy as np
import pytest

import mtkeras
from mtkeras.data import Example, make_dataset
from mtkeras.encoders.pretrained import build_pretrained
from mtkeras.training import LayerwiseAdam, layer_rates
from mtkeras.training.schedules import build_optimizer, recipe_optimizer

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "book", "a", "table", "play", "jazz", "in", "paris"]
DATA = [("book a table in paris", "book"), ("play jazz", "play"), ("book a table", "book"), ("play jazz in paris", "play")]


def write_preset(path, layers=2):
    keras.utils.set_random_seed(0)
    keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True).save_to_preset(str(path))
    keras_hub.models.BertBackbone(vocabulary_size=len(VOCABULARY), num_layers=layers, num_heads=2, hidden_dim=8,
                                  intermediate_dim=16, max_sequence_length=16, dropout=0.0).save_to_preset(str(path))
    return str(path)


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return write_preset(tmp_path_factory.mktemp("two_layer_bert"))


def examples():
    return [Example(tuple(text.split()), {"intent": intent}, f"tiny:{i}") for i, (text, intent) in enumerate(DATA, 1)]


def model_on(preset):
    task = mtkeras.SentenceClassification.from_examples("intent", examples(), dropout=0.0)
    return mtkeras.MultiTaskModel([task], *build_pretrained(preset, dropout=0.0))


def test_factors_fall_by_decay_per_layer_down_from_the_heads(preset):
    model = model_on(preset)
    rates = layer_rates(model, 0.5)
    by_path = {variable.path: rates.get(variable.path, 1.0) for variable in model.trainable_variables}
    assert by_path["token_embedding/embeddings"] == 0.125  # depth 0 of L=2: 0.5 ** 3
    assert by_path["embeddings_layer_norm/gamma"] == 0.125
    assert by_path["transformer_layer_0/feedforward_output_dense/kernel"] == 0.25
    assert by_path["transformer_layer_1/feedforward_output_dense/kernel"] == 0.5
    assert by_path["intent/logits/kernel"] == 1.0  # the head learns at the full rate
    assert layer_rates(model, 1.0) == {} and layer_rates(model, None) == {}
    with pytest.raises(ValueError, match=r"layer decay, expected a number in \(0, 1\]. Received: decay=1.5"):
        layer_rates(model, 1.5)
    # A from-scratch encoder has no transformer layers to decay over.
    scratch = mtkeras.build_model(model.tasks, texts=[text for text, _ in DATA])
    assert layer_rates(scratch, 0.5) == {}


def moves_after_one_step(model, rates, batch_size=4):
    """`{rate: largest move of a weight with that rate}` after one Adam step; asserts no weight moves more."""
    # A tiny epsilon: Adam's first step is then the rate times sign(g) even for tiny gradients.
    model.compile(optimizer=LayerwiseAdam(1e-3, epsilon=1e-12, layer_rates=rates))
    before = {variable.path: variable.numpy() for variable in model.trainable_variables}
    model.fit(make_dataset(examples(), model.tasks, batch_size=batch_size, drop_remainder=True), epochs=1, verbose=0)
    # Adam's first step moves a weight by its rate times g / |g|: by the rate
    # itself, unless the gradient is ~0 (a key bias, an unused row). Looked-up
    # tables (token, segment embeddings) are left out: their gradients are
    # sparse, and Keras' Adam squares each occurrence of a repeated row before
    # summing, so a row used n times moves up to sqrt(n) times the rate.
    largest = {}
    for variable in model.trainable_variables:
        if variable.path in ("token_embedding/embeddings", "segment_embedding/embeddings"):
            continue
        rate = 1e-3 * rates.get(variable.path, 1.0)
        moved = float(np.abs(variable.numpy() - before[variable.path]).max())
        assert moved <= rate * 1.02, variable.path
        largest[rate] = max(largest.get(rate, 0.0), moved)
    return largest


def assert_every_rate_is_reached(largest):
    # The embeddings' norm, each layer and the head: each moved by its own rate.
    assert sorted(largest) == pytest.approx([1.25e-4, 2.5e-4, 5e-4, 1e-3])
    for rate, moved in largest.items():
        assert moved == pytest.approx(rate, rel=0.02), rate


def test_one_adam_step_moves_each_variable_by_its_own_rate(preset):
    model = model_on(preset)
    rates = layer_rates(model, 0.5)
    assert isinstance(build_optimizer("adam", 1e-3, schedule="constant", layer_rates=rates), LayerwiseAdam)
    assert_every_rate_is_reached(moves_after_one_step(model, rates))


def test_the_optimizer_saves_and_loads_with_the_model(preset, tmp_path):
    model = model_on(preset)
    model.compile(optimizer=recipe_optimizer(model, total_steps=10, layer_decay=0.8))
    model.fit(make_dataset(examples(), model.tasks, batch_size=2), epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, LayerwiseAdam)
    assert loaded.optimizer.layer_rates == model.optimizer.layer_rates == layer_rates(model, 0.8)
    assert loaded.optimizer.layer_rates["token_embedding/embeddings"] == pytest.approx(0.8 ** 3)
    for mine, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy())


def test_a_config_sets_layer_decay_and_the_recipe_fills_it(preset, tmp_path):
    from mtkeras.errors import ConfigError
    from mtkeras.runs import load_config
    from mtkeras.runs.trainer import build_compiled_model, run_layer_decay

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"text": text, "intent": intent}) + "\n" for text, intent in DATA))
    config = tmp_path / "c.yaml"
    body = (f"name: decay\ntasks: {{intent: {{kind: sentence_classification}}}}\n"
            f"datasets: {{d: {{reader: jsonl, train: {data}, tasks: {{intent: intent}}}}}}\n"
            f"encoder: {{name: {preset}}}\n")
    config.write_text(body + "training: {optimizer: {layer_decay: 0.5}}\n")
    loaded = load_config(str(config))
    assert run_layer_decay(loaded) == 0.5
    tasks = [mtkeras.SentenceClassification.from_examples("intent", examples())]
    model = build_compiled_model(loaded, tasks, {"d": examples()}, steps_per_epoch=2)
    assert model.optimizer.layer_rates == layer_rates(model, 0.5)
    # Unset: the pretrained recipe's decay.
    config.write_text(body)
    assert run_layer_decay(load_config(str(config))) == mtkeras.training.recipes.PRETRAINED.layer_decay
    config.write_text(body + "training: {optimizer: {layer_decay: 0}}\n")
    with pytest.raises(ConfigError, match="layer_decay"):
        load_config(str(config))
