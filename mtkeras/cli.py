"""The `mtkeras` command line: a thin layer over the package."""

import argparse
import json
import logging
import sys


def _serve(args):
    from mtkeras.serving import serve

    serve(args.model_name, args.model_base_path, host=args.host, port=args.port)
    return 0


def _predict(args):
    from mtkeras.demo import format_result
    from mtkeras.serving import Client, ServingError

    try:
        with Client(args.target, args.model, timeout=args.timeout) as client:
            results = client.predict(args.texts)
    except ServingError as error:
        print(f"mtkeras predict: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{"text": t, **r} for t, r in zip(args.texts, results)], indent=2))
    else:
        print("\n".join(format_result(t, r) for t, r in zip(args.texts, results)))
    return 0


def _demo(args):
    from mtkeras.demo import run_demo

    return run_demo(
        data_dir=args.data_dir,
        export_base=args.export_base,
        epochs=args.epochs,
        batch_size=args.batch_size,
        host=args.host,
        port=args.port,
    )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="mtkeras",
        description="Multi-task NLP on TensorFlow/Keras: train, export, serve, query.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="serve exported models over TF Serving's gRPC API",
        description="Serve the latest version under a base path with TF Serving's "
        "gRPC PredictionService and ModelService. Stops on Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--model-name", required=True, help="name clients ask for")
    serve.add_argument("--model-base-path", required=True, help="folder of integer versions, e.g. saved_models/demo")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8500, help="gRPC port (default: %(default)s)")
    serve.set_defaults(run=_serve)

    predict = commands.add_parser(
        "predict", help="query a served model with raw texts",
        description="Send texts to a TF Serving (or mtkeras serve) gRPC endpoint and print every task's answer.",
    )
    predict.add_argument("texts", nargs="+", metavar="TEXT")
    predict.add_argument("--target", default="localhost:8500", help="gRPC address (default: %(default)s)")
    predict.add_argument("--model", required=True, help="served model name")
    predict.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: %(default)s)")
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")
    predict.set_defaults(run=_predict)

    demo = commands.add_parser(
        "demo", help="generate demo data, train, export, serve and query",
        description="The whole path on the bundled synthetic corpus: no download needed.",
    )
    demo.add_argument("--data-dir", default="build/demo_data", help="where to write the corpus (default: %(default)s)")
    demo.add_argument("--export-base", default="saved_models/demo", help="model base path (default: %(default)s)")
    demo.add_argument("--epochs", type=int, default=6, help="training epochs (default: %(default)s)")
    demo.add_argument("--batch-size", type=int, default=32, help="global batch size (default: %(default)s)")
    demo.add_argument("--host", default="127.0.0.1", help="server address (default: %(default)s)")
    demo.add_argument("--port", type=int, default=8500, help="gRPC port (default: %(default)s)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # TensorFlow's own INFO/WARNING lines (asset writing, renamed captures)
    # say nothing a user can act on.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
