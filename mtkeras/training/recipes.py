"""Training recipes: the package's defaults per encoder kind, not tuned per dataset.

A config that leaves `training.epochs`, `training.patience` or the learning
rate unset gets its encoder kind's recipe: runs last until the dev split stops
improving (`patience` epochs without a better monitor), up to `epochs`.

| kind | encoders | epochs | patience | peak rate | measured on |
|---|---|---|---|---|---|
| from scratch | bilstm, cnn, transformer, stacked (its transformer frozen) | 30 | 5 | 3e-3 | SNIPS: best dev epochs 13-19 of 20 (benchmarks/README.md) |
| pretrained | minilm, bert, a preset folder | 8 | 2 | 1e-4 | SNIPS MiniLM: 1e-4 over 5e-5 (94.97 vs 93.02 slot F1); dev peaks at epochs 4-6 |

Example:
>>> recipe_for("minilm").learning_rate
0.0001
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How long and how fast a kind of encoder trains by default."""

    epochs: int
    patience: int
    learning_rate: float
    # Layer-wise learning-rate decay over a pretrained transformer's layers (1: none; mtkeras.training.optimizers).
    layer_decay: float = 1.0


FROM_SCRATCH = Recipe(epochs=30, patience=5, learning_rate=3e-3)
PRETRAINED = Recipe(epochs=8, patience=2, learning_rate=1e-4)


def recipe_for(encoder):
    """The recipe of an encoder name (or preset folder), or of an encoder layer."""
    from mtkeras.encoders import PretrainedEncoder, is_pretrained

    pretrained = isinstance(encoder, PretrainedEncoder) if not isinstance(encoder, str) else is_pretrained(encoder)
    return PRETRAINED if pretrained else FROM_SCRATCH
