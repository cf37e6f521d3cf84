"""A run's inputs: each dataset's splits read, the tasks declared, the training stream."""

import itertools

from mtkeras.data import DataError
from mtkeras.errors import ConfigError
from mtkeras.lazy import lazy_module

# The tf.data streams; reading and checking a config's data needs no TensorFlow.
pipeline = lazy_module("mtkeras.data.pipeline")


def read_split(config, split):
    """`{source: [Example]}` of one split (`"train"`, `"valid"` or `"test"`) of every dataset that has it."""
    config.check_data_paths((split,))
    sources = {}
    for source, dataset in config.datasets.items():
        location = getattr(dataset, split)
        if location:
            sources[source] = _read(config, source, dataset, split, location)
    return sources


def _read(config, source, dataset, split, location):
    field = f"datasets.{source}.{split}"
    reader = dataset.reader_class
    kinds = {task: config.tasks[task].kind_class for task in dataset.tasks}
    try:
        examples = reader.from_config(location, dataset, kinds)
    except TypeError as error:  # an option the reader does not take
        raise ConfigError(f"{config.where(f'datasets.{source}.options')}: {error}") from None
    except DataError:
        raise
    except ValueError as error:
        raise ConfigError(f"datasets.{source}: {error}") from None
    try:
        examples = list(itertools.islice(iter(examples), dataset.max_examples))
    except DataError as error:
        raise DataError(f"{field}: {error}") from None
    if not examples:
        raise ConfigError(f"{config.where(field)}: {location!r} holds no examples")
    return examples


def declare_tasks(config, train_examples):
    """The `Task`s of `config`: each kind's `from_options`, labels from the training examples unless given."""
    tasks = []
    for name, spec in config.tasks.items():
        try:
            tasks.append(spec.kind_class.from_options(name, spec.options, train_examples))
        except ValueError as error:
            raise ConfigError(f"tasks.{name}: {error}") from None
    return tasks


def distilled_tasks(config):
    """The names of the tasks that learn from a teacher (none without a `distillation` section)."""
    if config.distillation is None:
        return []
    return list(config.distillation.tasks or config.tasks)


def training_stream(config, sources, tasks, replicas=1, epochs=None, initial_epoch=0, soft_targets=None,
                    initial_batch=0):
    """`(dataset, steps_per_epoch)` for `model.fit`: one source batched, several mixed.

    The stream holds the epochs from `initial_epoch` to `epochs` (one epoch
    without `epochs`), each in the order its own seeds give
    (`mtkeras.data.pipeline.epoch_key`): a run resumed at an epoch reads the batches
    an unbroken one reads there. `fit` must take `steps_per_epoch` when the
    stream holds several (it reads on instead of restarting the stream).
    `initial_batch` leaves out that many batches of the first epoch (a run
    resumed in the middle of it), and the stream then ends with that epoch.
    `soft_targets` (`{source: {task: [...]}}`, `mtkeras.runs.teachers`)
    packs the distilled tasks' labels with their teachers' distributions.
    """
    training, mixing = config.training, config.mixing
    epochs = initial_epoch + 1 if epochs is None else epochs  # the run's: annealed weights depend on them
    if len(sources) == 1:
        ((source, examples),) = sources.items()
        data = pipeline.make_dataset(
            examples, tasks, training.batch_size, shuffle=training.shuffle, seed=training.seed,
            drop_remainder=replicas > 1, bucket=mixing.bucket, unknown_labels="raise",
            soft_targets=(soft_targets or {}).get(source), epochs=epochs, initial_epoch=initial_epoch,
        )
    else:
        weights = {source: config.datasets[source].weight for source in sources} if mixing.sampling == "weights" else None
        data = pipeline.mix_datasets(
            sources, tasks, training.batch_size,
            sampling=mixing.sampling, temperature=mixing.temperature, weights=weights,
            examples_per_epoch=mixing.examples_per_epoch, seed=training.seed, bucket=mixing.bucket,
            soft_targets=soft_targets, epochs=epochs, initial_epoch=initial_epoch,
        )
    # Both streams know their batch count.
    steps = pipeline.epoch_steps(data, epochs, initial_epoch)
    if steps < 1:
        total = sum(len(examples) for examples in sources.values())
        raise ConfigError(f"training.batch_size: {training.batch_size} is more than the {total} training examples")
    if initial_batch:
        if not 0 < initial_batch < steps:
            raise ValueError(f"initial_batch must be in [0, {steps}) (the batches of an epoch). "
                             f"Received: initial_batch={initial_batch!r}")
        data = data.take(steps).skip(initial_batch)
    return data, steps


def validation_stream(config, sources, tasks):
    """The validation data of `fit` (every source's examples, once, in order), or None without any."""
    if not sources:
        return None
    examples = [ex for items in sources.values() for ex in items]
    # Distilled tasks read packed targets, also here: gold alone (no teacher on validation texts).
    soft = {name: [None] * len(examples) for name in distilled_tasks(config)}
    return pipeline.make_dataset(examples, tasks, config.training.batch_size, unknown_labels="error",
                                 soft_targets=soft or None)
