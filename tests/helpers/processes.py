"""Other processes the tests start: free ports, Python in a fresh interpreter."""

import os
import pty
import re
import socket
import subprocess
import sys
import textwrap
import time

# The tests' folder: a Python started by a test puts it on `sys.path` to import `helpers`.
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The repository's root: configs/, notebooks/, serving/, benchmarks/, README.md.
REPO_ROOT = os.path.dirname(TESTS_DIR)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_python(code, env=None, timeout=600):
    """Runs `code` in a fresh Python process; returns stdout, fails with its stderr."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"subprocess failed:\n{result.stderr[-5000:]}"
    return result.stdout


def repository_commit():
    """`(commit, dirty)` of the checkout the tests run from, as git itself reports them."""
    def git(*args):
        return subprocess.run(["git", "-C", REPO_ROOT, *args], capture_output=True, text=True, check=True).stdout.strip()

    return git("rev-parse", "HEAD"), git("status", "--porcelain", "--untracked-files=no") != ""


def run_in_terminal(args, timeout=300):
    """Runs a command with a pseudo-terminal as its standard output and error; returns all it wrote."""
    main, secondary = pty.openpty()
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    process = subprocess.Popen(args, stdout=secondary, stderr=secondary, stdin=subprocess.DEVNULL, env=env)
    os.close(secondary)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(main)
    return process.returncode, b"".join(chunks).decode("utf-8", errors="replace")


def screen_lines(text):
    """The lines a terminal shows once carriage returns and colours are applied."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    return [line.split("\r")[-1].rstrip() for line in text.replace("\r\n", "\n").split("\n")]
