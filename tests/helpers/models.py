"""Tiny models the tests build, from the tiny data of `helpers.data`."""

import keras

import mtkeras
from helpers.data import tiny_examples, tiny_tasks


def build_tiny_model(examples=None, tasks=None, seed=0, **encoder_config):
    examples = examples or tiny_examples()
    tasks = tasks or tiny_tasks(examples)
    keras.utils.set_random_seed(seed)
    config = {"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "dropout": 0.0, "word_dropout": 0.0, "singleton_dropout": 0.0, **encoder_config}
    return mtkeras.build_model(tasks, texts=[ex.text for ex in examples], encoder_config=config)
