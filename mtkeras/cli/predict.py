"""`mtkeras predict`: texts in, every task's answer out, from a server or from files on disk.

Texts come from the arguments, a file (`--file`, one text per line) or
standard input; answers go out as a readable table, one JSON array
(`--json`) or JSON Lines (`--jsonl`), UTF-8 as is. With `--target` (or no
`--model-path`) the texts go to a TF Serving or `mtkeras serve` endpoint
through the clients, which import neither TensorFlow nor Keras, so a query
starts in a fraction of a second. With `--model-path` (a run directory, a
`.keras` file or an export folder) the model answers in this process, the
same answers as a server gives.
"""

import json
import os
import sys
import time

from mtkeras.cli.quiet import stderr_is_terminal

# Texts per request (or per forward pass offline).
BATCH_SIZE = 64


class PredictError(Exception):
    """A problem the user fixes (no such file, no texts); printed without a traceback."""


def read_texts(args, stdin=None):
    """The texts to answer: the arguments, else `--file` (`-`: standard input), else piped standard input."""
    stdin = stdin if stdin is not None else sys.stdin
    if args.texts and args.file:
        raise PredictError("give texts as arguments or with --file, not both")
    if args.texts:
        return list(args.texts)
    if args.file == "-" or (args.file is None and not stdin.isatty()):
        lines = stdin.read().splitlines()
        source = "standard input"
    elif args.file is not None:
        try:
            with open(args.file, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            raise PredictError(f"--file {args.file}: no such file") from None
        except UnicodeDecodeError as error:
            line = error.object[: error.start].count(b"\n") + 1
            raise PredictError(f"{args.file}:{line}: not UTF-8 ({error.reason})") from None
        source = args.file
    else:
        raise PredictError("no texts: give them as arguments, with --file PATH, or on standard input")
    texts = [line for line in lines if line.strip()]
    if not texts:
        raise PredictError(f"no texts in {source} (one text per line)")
    return texts


def _progress(done, total, started, stream):
    rate = done / max(time.monotonic() - started, 1e-9)
    stream.write(f"\r  {done}/{total} texts ({rate:.0f} texts/s)")
    if done == total:
        stream.write("\n")
    stream.flush()


def answer_all(answer_batch, texts, pairs=None, progress=None):
    """Answers `texts` in batches of `BATCH_SIZE` with `answer_batch(texts, pairs)`; reports progress."""
    results, started = [], time.monotonic()
    for start in range(0, len(texts), BATCH_SIZE):
        stop = start + BATCH_SIZE
        results += answer_batch(texts[start:stop], None if pairs is None else pairs[start:stop])
        if progress is not None:
            progress(len(results), len(texts), started)
    return results


def write_results(args, texts, results, stream=None):
    from mtkeras.results import format_result

    stream = stream if stream is not None else sys.stdout
    rows = [{"text": text, **result} for text, result in zip(texts, results)]
    if args.jsonl:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif args.json:
        stream.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        stream.write("\n".join(format_result(text, result) for text, result in zip(texts, results)) + "\n")


def _server_answerer(args, stack):
    from mtkeras.serving import Client, RestClient

    kind = RestClient if args.rest else Client
    target = args.target or ("localhost:8501" if args.rest else "localhost:8500")
    client = stack(kind(target, args.model, version=args.version, version_label=args.version_label,
                        timeout=args.timeout))
    if args.wait > 0:  # a server just started needs a few seconds to load its model

        def waiting(error):
            print(f"mtkeras predict: waiting up to {args.wait:g} s for model {args.model!r} at {target} "
                  f"({error.code.name}: {error.details})", file=sys.stderr, flush=True)

        client.wait_until_ready(timeout=args.wait, on_wait=waiting)
    return lambda texts, pairs: client.predict(texts, pairs=pairs)


def _local_answerer(args, stack):
    """Answers from files on disk: an export folder through TF Serving's loader, else the Keras model."""
    path = args.model_path
    if not os.path.exists(path):
        raise PredictError(f"--model-path {path}: no such file or folder")
    from mtkeras.export.local import local_predictor

    return stack(local_predictor(path, version=args.version))


def run(args):
    """The command; returns its exit code."""
    from mtkeras.serving import ServingError

    if not args.model_path and not args.model:
        print("mtkeras predict: give --model NAME (the served model), or --model-path PATH to answer without a "
              "server", file=sys.stderr)
        return 2
    try:
        texts = read_texts(args)
        pairs = list(args.pair) if args.pair else None
        if pairs is not None and len(pairs) != len(texts):
            raise PredictError(f"{len(texts)} texts but {len(pairs)} --pair texts; give one second text per text")
        opened = []

        def stack(resource):
            opened.append(resource)
            return resource

        try:
            answer = _local_answerer(args, stack) if args.model_path else _server_answerer(args, stack)
            show = len(texts) > BATCH_SIZE and stderr_is_terminal()
            results = answer_all(answer, texts, pairs, progress=lambda *a: _progress(*a, sys.stderr) if show else None)
        finally:
            for resource in opened:
                resource.close()
    except (ServingError, PredictError, ValueError) as error:
        print(f"mtkeras predict: {error}", file=sys.stderr)
        return 1
    write_results(args, texts, results)
    return 0


def add_parser(commands, parents=()):
    predict = commands.add_parser(
        "predict", parents=list(parents), help="answer texts with a served model, or with a run, .keras file or export on disk",
        description="Send texts to a TF Serving (or mtkeras serve) endpoint, or answer them in this process "
        "with --model-path, and print every task's answer. Texts come from the arguments, --file, or "
        "standard input (one per line).",
    )
    predict.add_argument("texts", nargs="*", metavar="TEXT")
    predict.add_argument("--file", default=None, metavar="PATH", help="read texts from this file, one per line "
                         "('-': standard input)")
    where = predict.add_mutually_exclusive_group()
    where.add_argument("--target", default=None,
                       help="server address (default: localhost:8500, or localhost:8501 with --rest)")
    where.add_argument("--model-path", default=None, metavar="PATH",
                       help="answer without a server: a run directory, a .keras file, or an export folder "
                       "(saved_models/NAME or saved_models/NAME/VERSION)")
    predict.add_argument("--model", default=None, help="served model name (with a server)")
    predict.add_argument("--rest", action="store_true", help="use the REST API instead of gRPC")
    predict.add_argument("--version", type=int, default=None, help="model version (default: the latest)")
    predict.add_argument("--version-label", default=None, help="version label from models.config, e.g. stable")
    predict.add_argument("--pair", nargs="+", default=None, metavar="TEXT",
                         help="second texts, one per TEXT, for sentence-pair tasks")
    predict.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: %(default)s)")
    output = predict.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON array instead of a table")
    output.add_argument("--jsonl", action="store_true", help="print one JSON object per line (JSON Lines)")
    predict.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                         help="wait up to this long for the model to be served, e.g. right after "
                         "`mtkeras serve &` (default: %(default)s, ask at once)")
    predict.set_defaults(run=run)
    return predict
