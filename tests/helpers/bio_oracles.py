"""Plain-Python references for BIO decoding, for tests: slow, obviously right."""

import numpy as np

from mtkeras.ops.bio import MIN_PROB, bio_entity_part


def is_valid_bio(tags):
    """Whether a sequence of tag strings is valid BIO (every `I-x` continues an `x`)."""
    previous = None
    for tag in tags:
        part = bio_entity_part(tag)
        if part is not None and part[0] == "I" and (previous is None or previous[1] != part[1]):
            return False
        previous = part
    return True


def viterbi_decode_numpy(probs, lengths, allowed, start_allowed):
    """Reference implementation of `viterbi_decode` in numpy (float64), one text at a time."""
    probs = np.asarray(probs, dtype=np.float64)
    allowed = np.asarray(allowed, dtype=bool)
    start_allowed = np.asarray(start_allowed, dtype=bool)
    batch, steps = probs.shape[:2]
    out = np.zeros([batch, steps], dtype=np.int32)
    transitions = np.where(allowed, 0.0, -np.inf)
    for b in range(batch):
        length = int(min(max(int(lengths[b]), 0), steps))
        if length == 0:
            continue
        emissions = np.log(np.maximum(probs[b, :length], MIN_PROB))
        score = emissions[0] + np.where(start_allowed, 0.0, -np.inf)
        pointers = []
        for t in range(1, length):
            candidates = score[:, None] + transitions
            pointers.append(np.argmax(candidates, axis=0))
            score = candidates.max(axis=0) + emissions[t]
        tag = int(np.argmax(score))
        path = [tag]
        for step_pointers in reversed(pointers):
            tag = int(step_pointers[tag])
            path.append(tag)
        out[b, :length] = path[::-1]
    return out


def sequence_log_score(probs, tags):
    """Sum of clipped log-probabilities of `tags` (one text), in float64: for tests."""
    probs = np.asarray(probs, dtype=np.float64)
    return float(np.sum(np.log(np.maximum(probs[np.arange(len(tags)), tags], MIN_PROB))))
