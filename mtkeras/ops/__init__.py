"""The ground floor: pure TensorFlow ops on sequences, used by heads, tasks, training and export.

- `bio`: BIO tag readings, the constrained Viterbi decoder, entity spans as dense tensors.
- `crf`: linear-chain CRF marginals and likelihood (forward-backward in the graph).
- `masking`: exact accounting for missing labels (weights, alignment, global counts).

Core TensorFlow ops only: everything here runs eagerly, in `tf.function`, under
`tf.distribute` and inside an exported SavedModel.
"""
