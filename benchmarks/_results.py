"""What every accuracy benchmark records: the commit it ran, and one JSON line per run in `results/`."""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def commit():
    """The checkout's short commit, with "+dirty" when tracked files differ from it (read before training,
    while HEAD is still the code that runs); None outside a checkout."""
    from mtkeras.runs.provenance import source_commit

    revision, dirty = source_commit(os.path.join(os.path.dirname(HERE), "mtkeras"))
    return revision[:7] + ("+dirty" if dirty else "") if revision else None


def append_run(path, command, revision, **fields):
    """Appends one run (date, commit, command, then `fields`) to the JSON Lines file `path`."""
    row = {"date": time.strftime("%Y-%m-%d"), "commit": revision, "command": command, **fields}
    with open(path, "a") as out:
        out.write(json.dumps(row) + "\n")


def record(name, script, revision, result):
    """Appends `result` to `results/<name>`: `script` with this process's arguments, at `revision` (`commit()`)."""
    append_run(os.path.join(RESULTS, name), " ".join(["python", script] + sys.argv[1:]), revision, **result)
