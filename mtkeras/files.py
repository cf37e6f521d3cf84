"""Files that readers must never see half-written."""

import os


def write_whole(path, text):
    """Writes `path` whole or not at all (a crash leaves the old file); creates its folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(partial, path)
