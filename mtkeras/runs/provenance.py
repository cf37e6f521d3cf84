"""Which code a run trained with: the package version and, in a git checkout, its commit.

`run.json` keeps one record per sitting (a run resumed after a kill or over
several days may span commits), so a result can name the code behind it.
"""

import datetime
import os
import subprocess

from mtkeras._version import __version__

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_commit(package_dir=PACKAGE_DIR):
    """`(commit, dirty)` of the git checkout `package_dir` is the top folder of, else `(None, None)`.

    Only a checkout whose top folder holds the package counts: a package
    installed into some other repository (a virtualenv inside a project) has
    no commit of its own. `dirty` is True when tracked files differ from the
    commit (uncommitted changes).
    """
    root = os.path.dirname(package_dir)

    def git(*args):
        result = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise OSError(result.stderr.strip())
        return result.stdout.strip()

    try:
        top, commit = git("rev-parse", "--show-toplevel", "HEAD").splitlines()
        if os.path.realpath(top) != os.path.realpath(root):
            return None, None
        dirty = git("status", "--porcelain", "--untracked-files=no") != ""
    except (OSError, subprocess.SubprocessError):  # no git, not a checkout, no commit yet
        return None, None
    return commit, dirty


def sitting(from_epoch):
    """The `run.json` record of a sitting that starts after epoch `from_epoch` (0: a new run)."""
    commit, dirty = source_commit()
    return {
        "from_epoch": from_epoch,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mtkeras": __version__,
        "commit": commit,
        "dirty": dirty,
    }
