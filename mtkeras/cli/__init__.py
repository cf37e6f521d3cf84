"""The `mtkeras` command line: a thin layer over the package.

Each command imports what it needs when it runs, so `mtkeras --help` and a
bad argument answer without loading TensorFlow.
"""

import argparse
import contextlib
import importlib
import importlib.util
import logging
import os
import sys
import traceback
import warnings

from mtkeras._version import __version__
from mtkeras.cli import predict
from mtkeras.cli.quiet import quiet_native_logs


def _serve(args):
    from mtkeras.serving import (
        BatchingOptions,
        ConfigError,
        ServingLimits,
        TlsOptions,
        read_batching_parameters_file,
        read_monitoring_config_file,
        serve,
    )

    if (args.model_config_file is None) == (args.model_name is None):
        print("mtkeras serve: give --model_config_file, or --model_name with --model_base_path", file=sys.stderr)
        return 2
    if args.model_name is not None and args.model_base_path is None:
        print("mtkeras serve: --model_name needs --model_base_path", file=sys.stderr)
        return 2
    if (args.ssl_cert_file is None) != (args.ssl_key_file is None):
        print("mtkeras serve: --ssl_cert_file and --ssl_key_file go together", file=sys.stderr)
        return 2
    try:
        batching = None
        if args.batching_parameters_file:
            batching = read_batching_parameters_file(args.batching_parameters_file)
        elif args.enable_batching:
            batching = BatchingOptions()
        options = {
            "rest_api_port": args.rest_api_port or None,
            "poll_seconds": args.file_system_poll_wait_seconds,
            "batching": batching,
            "limits": ServingLimits(
                max_texts_per_request=args.max_texts_per_request,
                max_text_bytes=args.max_text_bytes,
                max_message_bytes=args.max_message_bytes,
            ),
            "metrics_path": (
                read_monitoring_config_file(args.monitoring_config_file) if args.monitoring_config_file else None
            ),
        }
        if args.ssl_cert_file:
            options["tls"] = TlsOptions(args.ssl_cert_file, args.ssl_key_file, args.ssl_client_ca_file)
        if args.model_config_file:
            options["model_config_file"] = args.model_config_file
        serve(args.model_name, args.model_base_path, host=args.host, port=args.port, **options)
    except (ConfigError, FileNotFoundError, OSError, ValueError) as error:
        print(f"mtkeras serve: {error}", file=sys.stderr)
        return 1
    return 0


def import_code(location):
    """Imports a module that registers task kinds, readers or encoders: a `.py` file or a dotted module name."""
    from mtkeras.errors import ConfigError

    if location.endswith(".py"):
        if not os.path.isfile(location):
            raise ConfigError(f"--code {location}: no such file")
        name = os.path.splitext(os.path.basename(location))[0]
        loaded = sys.modules.get(name)
        if name in sys.stdlib_module_names or (
            loaded is not None and os.path.abspath(getattr(loaded, "__file__", "") or "") != os.path.abspath(location)
        ):
            raise ConfigError(
                f"--code {location}: the module name {name!r} is taken (by Python or an installed package); "
                "rename the file"
            )
        spec = importlib.util.spec_from_file_location(name, location)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # keras finds the classes it registers by module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            del sys.modules[name]
            raise ConfigError(f"--code {_where_it_failed(error, location)}: {type(error).__name__}: {error}") from None
        return module
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as error:
        raise ConfigError(f"--code {location}: {error}") from None
    except Exception as error:
        raise ConfigError(f"--code {location}: {type(error).__name__}: {error}") from None


def _where_it_failed(error, location):
    """`file:line` of the failing line inside the plugin file (or the file alone)."""
    if isinstance(error, SyntaxError) and error.lineno:
        return f"{location}:{error.lineno}"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(frame.filename) == os.path.abspath(location)]
    return f"{location}:{frames[-1].lineno}" if frames else location


def _load(args, splits=()):
    """The config of `args`, checked before TensorFlow is imported: fields, and the data paths of `splits`."""
    from mtkeras.runs import load_config

    for location in args.code or ():
        import_code(location)
    return load_config(args.config, overrides=args.set or (), data_splits=splits)


def _train(args):
    config = _load(args, splits=("train", "valid", "test"))  # config errors answer before TensorFlow is imported
    from mtkeras.runs import train

    if args.single_task:
        from mtkeras.runs.single_task import single_task_root, train_each_task

        scores = train_each_task(config, run_dir=args.run_dir, overwrite=args.overwrite,
                                 verbose={"auto": None, "bar": 1, "none": 0}[args.progress])
        for task, score in scores.items():
            print(f"[mtkeras] {task} alone: dev {score['metric']} {score['valid']:.4f} at epoch {score['best_epoch']}, "
                  f"test {score['test'] if score['test'] is None else round(score['test'], 4)}; {score['run_dir']}",
                  flush=True)
        print(f"[mtkeras] single-task scores in {single_task_root(config, args.run_dir)}/scores.json; "
              "`mtkeras train` of this config now picks its best epoch relative to them", flush=True)
        return 0

    outcome = train(config, run_dir=args.run_dir, overwrite=args.overwrite,
                    verbose={"auto": None, "bar": 1, "none": 0}[args.progress])
    if outcome["worker"] == 0:
        print(f"[mtkeras] finished {outcome['epochs_done']} epochs in {outcome['train_seconds']:.0f} s of training; "
              f"reports in {outcome['run_dir']}", flush=True)
    return 0


def _evaluate(args):
    config = _load(args, splits=(args.split,))
    from mtkeras.evaluation import results_json
    from mtkeras.runs import evaluate_run

    if not args.json:
        evaluate_run(config, split=args.split, run_dir=args.run_dir, model_path=args.model)
        return 0
    # With --json, standard output carries the JSON alone (for `| jq`); the table goes to standard error.
    with contextlib.redirect_stdout(sys.stderr):
        results = evaluate_run(config, split=args.split, run_dir=args.run_dir, model_path=args.model)
    print(results_json(results))
    return 0


def _calibrate(args):
    config = _load(args, splits=("valid", "test"))
    from mtkeras.runs import calibrate_run

    calibrate_run(config, run_dir=args.run_dir)
    return 0


def _validate(args):
    config = _load(args)
    from mtkeras.runs.validate import format_report, report_json, validate_config

    report = validate_config(config)
    print(report_json(report) if args.json else format_report(report))
    return 1 if report["errors"] else 0


def _export(args):
    config = _load(args)
    from mtkeras.runs import export_run

    export_run(config, run_dir=args.run_dir, model_path=args.model, base_path=args.base_path,
               version=args.version)
    return 0


def _demo(args):
    from mtkeras.demo import run_demo

    if args.data_only:
        from mtkeras.demo import generate_demo_corpus

        generate_demo_corpus(args.data_dir, seed=0)
        print(f"[demo] generated the demo corpus in {args.data_dir}")
        return 0
    return run_demo(
        data_dir=args.data_dir,
        export_base=args.export_base,
        epochs=args.epochs,
        batch_size=args.batch_size,
        host=args.host,
        port=args.port,
        rest_api_port=args.rest_api_port,
        run_dir=args.run_dir,
    )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="mtkeras",
        description="Multi-task NLP on TensorFlow/Keras: train, export, serve, query.",
    )
    parser.add_argument("--version", action="version", version=f"mtkeras {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="also show TensorFlow's own log lines")

    def run_command(name, help, description):
        command = commands.add_parser(name, help=help, description=description, parents=[common])
        command.add_argument("config", metavar="CONFIG", help="YAML config (see configs/ and the README)")
        command.add_argument("--run-dir", default=None, help="run directory (default: the config's run_dir, "
                             "else runs/<name>)")
        command.add_argument("--set", action="append", metavar="FIELD=VALUE",
                             help="override a config field, e.g. --set training.epochs=2 (repeatable)")
        command.add_argument("--code", action="append", metavar="PATH_OR_MODULE",
                             help="a .py file or module to import first: it registers the task kinds, readers "
                             "or encoders the config names (repeatable)")
        return command

    train = run_command(
        "train", "train the model a config describes (resumes an interrupted run)",
        "Reads the datasets, builds the model and trains it, printing every task's metrics after each epoch. "
        "The run directory gets checkpoints (best and last), TensorBoard logs, history.csv, the final "
        "model.keras, per-task metrics (metrics_valid.json, metrics_test.json) and plots (curves per task, "
        "confusion matrices). Run the same command again to resume an interrupted run from its last "
        "finished epoch, with its optimizer state.",
    )
    train.add_argument("--overwrite", action="store_true", help="discard what the run directory holds and start again")
    train.add_argument("--progress", choices=("auto", "bar", "none"), default="auto",
                       help="Keras progress bar: auto shows it on a terminal (default: %(default)s)")
    train.add_argument("--single-task", action="store_true",
                       help="train each task alone (its own datasets, the same encoder and recipe) into "
                       "<run_dir>-single/<task> (or the config's single_task_dir); finished ones are kept. A "
                       "multi-task run of the config then "
                       "picks its best epoch by each task's dev score relative to its single-task model's")
    train.set_defaults(run=_train)

    evaluate = run_command(
        "evaluate", "score a trained run on a split of its datasets",
        "Loads the run's model.keras and prints per-task metrics for one split; writes metrics_<split>.json "
        "and confusion-matrix plots into the run directory.",
    )
    evaluate.add_argument("--split", choices=("train", "valid", "test"), default="test",
                          help="which split of every dataset (default: %(default)s)")
    evaluate.add_argument("--model", default=None, help="a .keras model instead of the run's model.keras")
    evaluate.add_argument("--json", action="store_true",
                          help="print the results as JSON on standard output (the table goes to standard error)")
    evaluate.set_defaults(run=_evaluate)

    calibrate = run_command(
        "calibrate", "fit a trained run's calibration again on its valid split, without training",
        "Fits each sentence task's temperature and each token task's outside weight on the valid split as "
        "training does, saves the run's model.keras again, rewrites metrics_valid.json and metrics_test.json "
        "and, with export.after_training, exports a new version. For runs trained before a calibration "
        "existed, or after the valid split changed.",
    )
    calibrate.set_defaults(run=_calibrate)

    validate = run_command(
        "validate", "check a config and read every dataset, without training",
        "Checks the config, then reads every split of every dataset: examples per source and split, each "
        "task's label distribution, labels of valid/test never seen in training, empty texts, test texts "
        "that are also training texts, and the first bad line of each file. Exits 1 when a run would stop.",
    )
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    validate.set_defaults(run=_validate)

    export = run_command(
        "export", "export a trained run as a versioned SavedModel for TF Serving",
        "Writes the run's model as the next version under the config's export.base_path "
        "(default saved_models/<name>/<version>/): raw text in, every task's answer out.",
    )
    export.add_argument("--model", default=None, help="a .keras model instead of the run's model.keras")
    export.add_argument("--base-path", default=None, help="versions folder (default: the config's export.base_path)")
    export.add_argument("--version", type=int, default=None, help="version number (default: the next one)")
    export.set_defaults(run=_export)

    serve = commands.add_parser(
        "serve", parents=[common], help="serve exported models over TF Serving's gRPC and REST APIs",
        description="Serve SavedModels the way tensorflow_model_server does (same flags, "
        "same APIs): gRPC PredictionService/ModelService and the REST API, new versions "
        "picked up by polling, optional server-side batching. Stops on Ctrl-C or SIGTERM. "
        "Flags take TF Serving's spelling (--model_base_path) or dashes (--model-base-path).",
    )

    def flag(name, **kwargs):
        if kwargs.get("action") != "store_true":
            kwargs.setdefault("metavar", "N" if "type" in kwargs else "NAME" if name == "model_name" else "PATH")
        serve.add_argument(f"--{name}", f"--{name.replace('_', '-')}", dest=name, **kwargs)

    flag("model_name", help="name clients ask for (with --model_base_path)")
    flag("model_base_path", help="folder of integer versions, e.g. saved_models/demo")
    flag("model_config_file", help="models.config (model_config_list) serving several models instead")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind; 0.0.0.0 for all (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8500, help="gRPC port (default: %(default)s)")
    flag("rest_api_port", type=int, default=8501, help="REST port; 0 turns REST off (default: %(default)s)")
    flag("file_system_poll_wait_seconds", type=float, default=1.0,
         help="seconds between polls for new versions; 0 polls once (default: %(default)s)")
    flag("enable_batching", action="store_true", help="batch concurrent requests (default parameters)")
    flag("batching_parameters_file", help="batching_parameters.txt (turns batching on)")
    flag("monitoring_config_file", help="monitoring.config: Prometheus metrics on the REST port")
    flag("max_texts_per_request", type=int, default=4096, help="texts per request (default: %(default)s)")
    flag("max_text_bytes", type=int, default=100_000, help="bytes per text (default: %(default)s)")
    flag("max_message_bytes", type=int, default=64 * 1024 * 1024, help="bytes per request (default: %(default)s)")
    flag("ssl_cert_file", help="PEM certificate: serve gRPC over TLS (with --ssl_key_file)")
    flag("ssl_key_file", help="PEM private key of --ssl_cert_file")
    flag("ssl_client_ca_file", help="PEM CA: require client certificates signed by it")
    serve.set_defaults(run=_serve)

    predict.add_parser(commands, parents=[common])

    demo = commands.add_parser(
        "demo", parents=[common], help="generate demo data, train, export, serve and query",
        description="The whole path on the bundled synthetic corpus: no download needed.",
    )
    demo.add_argument("--data-dir", default="build/demo_data", help="where to write the corpus (default: %(default)s)")
    demo.add_argument("--export-base", default="saved_models/demo", help="model base path (default: %(default)s)")
    demo.add_argument("--run-dir", default="runs/demo",
                      help="run directory, started afresh (default: %(default)s, as configs/demo.yaml)")
    demo.add_argument("--epochs", type=int, default=6, help="training epochs (default: %(default)s)")
    demo.add_argument("--batch-size", type=int, default=32, help="global batch size (default: %(default)s)")
    demo.add_argument("--host", default="127.0.0.1", help="server address (default: %(default)s)")
    demo.add_argument("--port", type=int, default=8500, help="gRPC port (default: %(default)s)")
    demo.add_argument("--rest-api-port", type=int, default=8501, help="REST port (default: %(default)s)")
    demo.add_argument("--data-only", action="store_true",
                      help="only write the demo corpus to --data-dir (for configs/demo.yaml) and stop")
    demo.set_defaults(run=_demo)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None):
    """A Python warning as one readable line (not the message plus the source line that raised it)."""
    return f"warning: {message} ({category.__name__}, {os.path.basename(filename)}:{lineno})\n"


def main(argv=None):
    """Runs one subcommand; returns its exit code.

    Exit codes: 0 done, 1 a user error (bad config or data, a missing run or
    model, a busy port, ...) printed as one message without a traceback,
    2 bad command-line arguments, 130 interrupted (Ctrl-C).
    """
    args = build_parser().parse_args(argv)
    if argv is None and not getattr(args, "verbose", False):
        quiet_native_logs()  # the command line only: a caller's own process keeps its standard error
        warnings.formatwarning = _one_line_warning
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # TensorFlow's own INFO/WARNING lines (asset writing, renamed captures)
    # say nothing a user can act on.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if not getattr(args, "verbose", False):
        # absl's INFO lines (SavedModel signature input renames) say nothing a user can act on.
        logging.getLogger("absl").setLevel(logging.WARNING)
    from mtkeras.errors import ConfigError, DataError, RunError

    try:
        return args.run(args)
    except (ConfigError, DataError, RunError, FileNotFoundError) as error:
        print(f"mtkeras {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = "; run the same command again to resume" if args.command == "train" else ""
        print(f"mtkeras {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
