"""Where a shared vocabulary costs a small source: SNIPS slot F1 on the test sentences holding a cut word.

A model of several sources adapted its vocabulary, up to 2026-12-07, with one
cap (`encoder.max_vocabulary_size`, 20,000) over all their training words, so
the words of a large source (SST-2: 67,349 phrases) pushed out those of a
small one (SNIPS: 13,084 texts). This prints, for the full training data:

- how many words each source loses under one cap, and how many under a cap
  per source (`WordPreprocessor.from_texts` with a dict, the rule since);
- the SNIPS test sentences holding a word that SNIPS' own vocabulary (a
  single-task model's) has but the single cap cut;
- for each export given, the slot F1 on those sentences and on the others,
  so a single-task model and shared models can be compared where the
  vocabulary differs and where it does not.

Prints one JSON object and appends it to `results/vocabulary_cut.jsonl`.

Usage:
    python benchmarks/vocabulary_cut.py --data-dir ../shared/datasets \\
        slots=RUN/saved_models/slots/2 distill=RUN/saved_models/multitask_distill/2
"""

import argparse
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _results import commit, record  # noqa: E402


def splits(data_dir):
    """`{source: examples}` of the train and test splits, read as benchmarks/multitask.py reads them."""
    import yaml

    from multitask import TASKS, model_config, parse_args
    from mtkeras.runs import parse_config, read_split

    settings = parse_args(["--data-dir", data_dir])
    config = parse_config(yaml.safe_dump(model_config("vocabulary", list(TASKS), settings, "WORK", 0)))
    return read_split(config, "train"), read_split(config, "test")


def slot_f1(gold, predicted):
    from mtkeras.tasks.scores import entity_f1, entity_set

    return round(100 * entity_f1(entity_set(gold), entity_set(predicted)), 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the folder of snips/, wnut17/, sst2/ (../shared/datasets)")
    parser.add_argument("--max-vocabulary-size", type=int, default=20000)
    parser.add_argument("--keep-case", action="store_true", help="count words as a lowercase: false model does")
    parser.add_argument("--vectors", help="the models' word vectors (glove-6b-50d): count the cut words that still "
                        "have one (the 100,000 most frequent vector words join the vocabulary, untrained)")
    parser.add_argument("exports", nargs="*", metavar="NAME=EXPORT", help="SavedModels answering a `slots` task")
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from mtkeras.data.pipeline import align_tags
    from mtkeras.names import TOKEN
    from mtkeras.runs.trainer import vocabulary_texts
    from mtkeras.tasks.scores import entity_scores
    from mtkeras.text import WordPreprocessor, split_words

    revision = commit()
    train, test = splits(args.data_dir)
    texts = vocabulary_texts(train)  # as the trainer builds a model's vocabulary
    options = {"max_vocabulary_size": args.max_vocabulary_size, "lowercase": not args.keep_case}
    one_cap = set(WordPreprocessor.from_texts([t for group in texts.values() for t in group], **options).vocabulary)
    per_source = set(WordPreprocessor.from_texts(texts, **options).vocabulary)
    own = {source: set(WordPreprocessor.from_texts(group, **options).vocabulary) for source, group in texts.items()}
    result = {"max_vocabulary_size": args.max_vocabulary_size, "lowercase": not args.keep_case,
              "vocabulary": {"one_cap": len(one_cap), "per_source": len(per_source)},
              "own_words_lost": {source: {"one_cap": len(words - one_cap), "per_source": len(words - per_source),
                                          "of": len(words)} for source, words in own.items()}}
    if args.vectors:
        from mtkeras.text import load_vectors

        # A cut word still read its vector (looked up lower-cased when not found as it is), not a trained row.
        vector_words = {word.lower() for word in load_vectors(args.vectors).words[:100000]}
        for source, words in own.items():
            result["own_words_lost"][source]["one_cap_with_a_vector"] = sum(
                word.lower() in vector_words for word in words - one_cap)

    test = test["snips"]
    # Gold tags on the model's words (a data word the model splits, "dolorosa:", continues its tag).
    gold = [tags["slots"] for _, tags in align_tags(test, [types.SimpleNamespace(name="slots", level=TOKEN)])]

    def key(word):
        return word if args.keep_case else word.lower()

    model_words = [w.decode() for w in split_words([ex.text for ex in test]).flat_values.numpy()]
    cut = []
    for count, _ in align_tags(test, []):
        words, model_words = model_words[:count], model_words[count:]
        cut.append(any(key(w) in own["snips"] and key(w) not in one_cap for w in words))
    result["snips_test"] = {"sentences": len(test), "holding_a_cut_word": sum(cut)}
    assert all(len(tags) <= 128 for tags in gold)  # the export keeps 128 words
    result["slot_f1"] = {}
    for name, path in (item.split("=", 1) for item in args.exports):
        serve = tf.saved_model.load(path).signatures["serving_default"]
        predicted = []
        for start in range(0, len(test), 128):
            batch = test[start : start + 128]
            outputs = serve(text=tf.constant([ex.text for ex in batch]))
            for tags, length in zip(outputs["slots_tags"].numpy(), outputs["lengths"].numpy()):
                predicted.append([tag.decode() for tag in tags[:length]])
        assert [len(tags) for tags in predicted] == [len(tags) for tags in gold], path
        result["slot_f1"][name] = {
            "export": path,
            "all": slot_f1(gold, predicted),
            "with_a_cut_word": slot_f1([g for g, c in zip(gold, cut) if c], [p for p, c in zip(predicted, cut) if c]),
            "without": slot_f1([g for g, c in zip(gold, cut) if not c],
                               [p for p, c in zip(predicted, cut) if not c]),
        }
        # Where the points are on the sentences the vocabularies agree on: F1 by slot type (20+ gold slots).
        report = entity_scores([g for g, c in zip(gold, cut) if not c], [p for p, c in zip(predicted, cut) if not c])
        result["slot_f1"][name]["without_by_type"] = {
            kind: [round(100 * row["f1"], 2), row["support"]] for kind, row in report["per_type"].items()
            if row["support"] >= 20}
    print(json.dumps(result, indent=1))
    if not args.no_record:
        record("vocabulary_cut.jsonl", "benchmarks/vocabulary_cut.py", revision, result)


if __name__ == "__main__":
    main()
