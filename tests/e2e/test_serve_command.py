"""Train, export, `mtkeras serve` in a subprocess, query over real gRPC."""

import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from helpers.processes import free_port
from mtkeras import names
from mtkeras.serving import Client, RestClient
from mtkeras.tasks import bio_entities
from mtkeras.results import same_answers

TEXTS = ["book a table for four in paris", "will it rain in rome tomorrow", "play miles davis", "you are very helpful"]


@pytest.mark.slow
def test_mtkeras_serve_answers_like_the_in_process_model(exported_model, trained_model):
    base, _ = exported_model
    port, rest_port = free_port(), free_port()
    command = [
        os.path.join(os.path.dirname(sys.executable), "mtkeras"), "serve", "--model-name", "tiny",
        "--model-base-path", base, "--port", str(port), "--rest_api_port", str(rest_port),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with Client(f"127.0.0.1:{port}", "tiny", timeout=30) as client:
            meta = client.wait_until_ready(timeout=120)
            assert meta["version"] == 1
            assert meta["inputs"] == {names.TEXT: {"dtype": "string", "shape": [None]}}
            results = client.predict(TEXTS)
            raw = client.predict_raw(TEXTS)
        with RestClient(f"127.0.0.1:{rest_port}", "tiny", timeout=30) as rest:
            over_rest = rest.predict(TEXTS)
            assert rest.metadata() == meta
        cli = subprocess.run(
            [command[0], "predict", "--target", f"127.0.0.1:{port}", "--model", "tiny", "--json", *TEXTS[:2]],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output  # SIGTERM: a clean stop
    assert re.search(rf"serving tiny versions \[1\] on \S+:{port} \(gRPC\) and \S+:{rest_port} \(REST\)", output), output

    assert cli.returncode == 0, cli.stderr
    from_cli = json.loads(cli.stdout)
    assert [r["text"] for r in from_cli] == TEXTS[:2]
    for got, want in zip(from_cli, results[:2]):
        assert same_answers([got["slots"]], [want["slots"]])  # entity scores: float32 noise allowed
        for task in ("intent", "sentiment"):
            assert got[task]["label"] == want[task]["label"]
            # Batches of 2 and 4 sum in a different order: float32 noise only.
            assert got[task]["score"] == pytest.approx(want[task]["score"], abs=1e-6)

    expected = trained_model.predict(TEXTS, verbose=0)
    intent, slots, sentiment = trained_model.tasks
    for i, (text, result) in enumerate(zip(TEXTS, results)):
        assert set(result) == {"intent", "slots", "sentiment"}
        best = int(np.argmax(expected["intent"][i]))
        assert result["intent"]["label"] == intent.labels[best]
        assert result["intent"]["score"] == pytest.approx(float(expected["intent"][i][best]), abs=1e-6)
        assert result["sentiment"]["label"] == sentiment.labels[int(np.argmax(expected["sentiment"][i]))]
        words = text.split()
        # Served tags are the constrained (valid BIO) decode, not a plain argmax.
        decoded = slots.decode(expected["slots"][i : i + 1, : len(words)], [len(words)]).numpy()[0]
        tags = [slots.labels[j] for j in decoded]
        assert result["slots"]["tags"] == [[w, t] for w, t in zip(words, tags)]
        entities = [(e["type"], e["text"]) for e in result["slots"]["entities"]]
        assert entities == bio_entities(words, tags)
        assert all(" ".join(words[e["start"] : e["end"]]) == e["text"] for e in result["slots"]["entities"])
    # REST answers the same, up to float32 noise in the scores.
    for got, want in zip(over_rest, results):
        assert same_answers([got["slots"]], [want["slots"]])  # entity scores: float32 noise allowed
        for task in ("intent", "sentiment"):
            assert got[task]["label"] == want[task]["label"]
            assert got[task]["score"] == pytest.approx(want[task]["score"], abs=1e-6)
    np.testing.assert_allclose(raw[names.probs_key("intent")], expected["intent"], atol=1e-6)
    # The tiny model fits its training data: served answers are the right ones.
    assert [r["intent"]["label"] for r in results[:3]] == ["BookRestaurant", "GetWeather", "PlayMusic"]
    assert results[3]["sentiment"]["label"] == "positive"
