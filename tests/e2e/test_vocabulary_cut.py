"""benchmarks/vocabulary_cut.py on tiny files in the layout of ../shared/datasets: what one cap cuts."""

import importlib.util
import json
import os

from helpers.processes import REPO_ROOT
from test_multitask_benchmark import write_data_dir


def test_one_cap_cuts_the_small_sources_words_and_a_cap_per_source_none(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("vocabulary_cut", os.path.join(REPO_ROOT, "benchmarks",
                                                                                 "vocabulary_cut.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    write_data_dir(tmp_path / "data")
    script.main(["--data-dir", str(tmp_path / "data"), "--max-vocabulary-size", "20", "--no-record"])
    result = json.loads(capsys.readouterr().out)
    lost = result["own_words_lost"]
    assert set(lost) == {"snips", "wnut17", "sst2"}
    # Each source's own vocabulary (capped at 20 too) is all in the per-source one; the one cap loses some.
    assert all(source["per_source"] == 0 and 0 < source["of"] <= 20 and source["one_cap"] <= source["of"]
               for source in lost.values())
    assert result["vocabulary"]["one_cap"] == 20 < result["vocabulary"]["per_source"]
    assert sum(source["one_cap"] for source in lost.values()) > 0  # the tiny sources do not fit one cap of 20
    assert result["snips_test"]["sentences"] == 9 and 0 < result["snips_test"]["holding_a_cut_word"] <= 9
    assert result["slot_f1"] == {}
