"""Layer-wise learning rates for fine-tuning pretrained encoders.

Fine-tuning a pretrained transformer works better when its lower layers move
less than its upper ones, and the new task heads move most (layer-wise
learning-rate decay: ULMFiT's discriminative fine-tuning, Howard & Ruder
2018; ELECTRA, Clark et al. 2020). With `decay` d and L transformer layers,
a variable's learning rate is the optimizer's times

    d ** (L + 1 - depth)

where depth is 0 for the embeddings, i + 1 for transformer layer i, and
L + 1 for everything above the transformer (task heads, task-private
layers, the backbone's pooler): factor 1.

`layer_rates(model, decay)` gives those factors by variable path;
`LayerwiseAdam` / `LayerwiseAdamW` apply them. Both are Keras optimizers
(schedules, clipping, saving and `BackupAndRestore` work as with Adam).

Example:
>>> optimizer = build_optimizer("adam", 1e-4, total_steps=3000, layer_rates=layer_rates(model, 0.9))
"""

import keras


def _transformer_layers(encoder):
    """The `(backbone, [transformer layers])` that layer decay spreads over, or None."""
    backbone = getattr(encoder, "backbone", None)
    if backbone is None:
        # An encoder that holds a pretrained one (the stacked encoder: `transformer`).
        inner = getattr(encoder, "transformer", None)
        return _transformer_layers(inner) if inner is not None else None
    layers = getattr(backbone, "transformer_layers", None)
    return (backbone, list(layers)) if layers else None


def layer_depths(encoder):
    """`({variable path: depth}, L)` of a pretrained encoder's trainable variables; `({}, 0)` for others.

    Depth 0: the embeddings (and anything else below the first transformer
    layer); i + 1: transformer layer i; L + 1: the backbone's variables above
    its last layer (a pooler).
    """
    found = _transformer_layers(encoder)
    if found is None:
        return {}, 0
    backbone, layers = found
    depth_of = {}
    for i, layer in enumerate(layers):
        for variable in layer.trainable_weights:
            depth_of[id(variable)] = i + 1
    depths = {}
    for variable in backbone.trainable_weights:
        depth = depth_of.get(id(variable))
        if depth is None:
            depth = 0 if "embed" in variable.path else len(layers) + 1
        depths[variable.path] = depth
    return depths, len(layers)


def layer_rates(model, decay):
    """`{variable path: learning-rate factor}` for layer-wise decay `decay` over `model.encoder`'s transformer.

    Only variables whose factor is not 1 are listed. Empty when `decay` is 1
    (or None) or the encoder has no trainable transformer.

    Raises:
        ValueError: `decay` not in (0, 1], or two trainable variables of the
            model share a path that needs a factor (the factors go by path).
    """
    if decay is None or decay == 1:
        return {}
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise ValueError(f"Received an invalid layer decay, expected a number in (0, 1]. Received: decay={decay!r}")
    depths, num_layers = layer_depths(model.encoder)
    rates = {path: float(decay ** (num_layers + 1 - depth)) for path, depth in depths.items()
             if depth <= num_layers}
    paths = [variable.path for variable in model.trainable_variables]
    shared = sorted({path for path in paths if path in rates and paths.count(path) > 1})
    if shared:
        raise ValueError(f"Layer-wise rates go by variable path, and several trainable variables share {shared[:3]}; "
                         "give those layers distinct names")
    return rates


class _LayerRates:
    """Scales each variable's learning rate by its `layer_rates` factor (default 1)."""

    def __init__(self, *args, layer_rates=None, **kwargs):
        super().__init__(*args, **kwargs)
        rates = dict(layer_rates or {})
        bad = {path: rate for path, rate in rates.items() if not isinstance(rate, (int, float)) or not rate > 0}
        if bad:
            raise ValueError(f"Received invalid `layer_rates`, expected positive numbers. Received: {bad!r:.200}")
        self.layer_rates = rates

    def build(self, var_list):
        super().build(var_list)
        self._rate_factors = [float(self.layer_rates.get(variable.path, 1.0)) for variable in var_list]

    def update_step(self, gradient, variable, learning_rate):
        factor = self._rate_factors[self._get_variable_index(variable)]
        if factor != 1.0:
            learning_rate = learning_rate * factor
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "layer_rates": dict(self.layer_rates)}


@keras.saving.register_keras_serializable(package="mtkeras")
class LayerwiseAdam(_LayerRates, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with per-variable learning-rate factors (`layer_rates`: `{path: factor}`)."""


@keras.saving.register_keras_serializable(package="mtkeras")
class LayerwiseAdamW(_LayerRates, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with per-variable learning-rate factors (`layer_rates`: `{path: factor}`)."""
