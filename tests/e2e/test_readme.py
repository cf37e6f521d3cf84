"""What README.md tells a new user works as written."""

import os
import re
import shlex
import subprocess
import sys

import pytest

from helpers.processes import REPO_ROOT, free_port

ROOT = REPO_ROOT
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


def section(title):
    start = README.index(title)
    level = title.split(" ")[0]
    following = re.search(rf"^#{{1,{len(level)}}} ", README[start + len(title):], flags=re.M)
    return README[start : start + len(title) + (following.start() if following else len(README))]


def blocks(text, language):
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def commands(text):
    for block in blocks(text, "bash"):
        for line in block.splitlines():
            line = line.split("#")[0].strip().rstrip("&").strip()
            if line:
                yield shlex.split(line)


def test_the_two_commands_come_first():
    first = blocks(README, "bash")[0]
    assert first.splitlines()[0].startswith("make demo") and first.splitlines()[1].startswith("make test")


def test_every_cli_line_of_the_quick_start_parses_and_names_real_files():
    from mtkeras.cli import build_parser

    lines = [argv for argv in commands(section("## Quick start")) if argv[0] == "mtkeras"]
    assert [argv[1] for argv in lines[:7]] == ["demo", "train", "evaluate", "export", "serve", "predict", "serve"]
    for argv in lines:
        args = build_parser().parse_args(argv[1:])
        if getattr(args, "config", None):
            assert os.path.exists(os.path.join(ROOT, args.config)), argv


def test_config_example_and_messages_are_true(tmp_path):
    from mtkeras.runs import ConfigError, field_reference, load_config, parse_config

    text = section("## Training from a config")
    (example,) = blocks(text, "yaml")
    config = parse_config(example)
    assert set(config.tasks) == {"intent", "slots", "sentiment"}
    # The messages quoted are the ones a user gets.
    demo = open(os.path.join(ROOT, "configs", "demo.yaml")).read()
    for old, new, quoted in (
        ("batch_size: 32", "batch_size: -3", "training.batch_size: expected a positive integer, got -3"),
        ("learning_rate: 0.003", "learnig_rate: 0.003", "training.optimizer.learnig_rate: unknown field"),
    ):
        path = tmp_path / "demo.yaml"
        path.write_text(demo.replace(old, new))
        with pytest.raises(ConfigError) as caught:
            load_config(str(path))
        message = str(caught.value).replace(str(path), "configs/demo.yaml")
        assert message in text or message.split("?")[0] in text, message
        assert quoted in message
    # The reference lists every field of the schema.
    reference = section("### Config reference")
    for field, *_ in field_reference():
        assert f"| `{field}` |" in reference, field


def test_notebooks_named_exist():
    for name in re.findall(r"`(\d\d_\w+\.ipynb)`", section("### Notebooks")):
        assert os.path.exists(os.path.join(ROOT, "notebooks", name)), name


@pytest.mark.slow
def test_the_script_quick_start_ends_with_a_grpc_answer(tmp_path, capsys):
    """The README's script (on a smaller corpus, 1 epoch instead of 6: nothing here depends on accuracy),
    then its serve command and client."""
    from mtkeras.demo import generate_demo_corpus

    text = section("### Script")
    script, client = blocks(text, "python")
    assert "epochs=6" in script
    # Every intent is in the training split (balanced quotas), so the script's (1, 7) holds.
    generate_demo_corpus(str(tmp_path / "build" / "demo_data"), seed=0, assistant_sizes=(140, 14, 14),
                         feedback_sizes=(60, 10, 10))
    (tmp_path / "quickstart.py").write_text(script.replace("epochs=6", "epochs=1"))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "quickstart.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "saved_models/script/1" in done.stdout and "(1, 7)" in done.stdout
    assert "[{'intent': {'label': " in done.stdout and "'entities': [" in done.stdout

    (serve,) = [argv for argv in commands(text) if argv[:2] == ["mtkeras", "serve"]]
    port, rest = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mtkeras"] + serve[1:] + ["--port", str(port), "--rest_api_port", str(rest)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        capsys.readouterr()
        exec(compile(client.replace("localhost:8500", f"127.0.0.1:{port}"), "README client", "exec"), {})
    finally:
        server.terminate()
        server.wait(timeout=30)
    import ast

    (answer,) = ast.literal_eval(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(answer) == {"intent", "slots", "sentiment"}
    from mtkeras.demo import INTENTS

    assert answer["intent"]["label"] in INTENTS and 0.0 < answer["intent"]["score"] <= 1.0, answer
    assert [word for word, _ in answer["slots"]["tags"]] == "book a table for two in paris".split()
