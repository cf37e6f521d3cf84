"""TensorFlow's C++ log lines kept off the command line's screen (`--verbose` shows them).

TensorFlow's native code writes to file descriptor 2 through absl and its
own logger: "I0000 00:00:... port.cc:153] oneDNN custom operations are on",
"E0000 ... failed call to cuInit", "WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR", at import and when
devices are listed. `TF_CPP_MIN_LOG_LEVEL` silences only some of them, and
Python's logging cannot reach them. `quiet_native_logs()` puts a pipe in
place of descriptor 2 and a thread that passes every line on to the real
standard error except those; Python's own output (warnings, tracebacks,
Keras' progress bar on stdout) is untouched.
"""

import atexit
import os
import re
import sys
import threading

# A native info or warning line: severity, date, time, thread, file:line]
# ("I0000 00:00:1796530860.294555   21619 port.cc:153] ..."). Errors (E) and fatal
# lines (F) pass, except the two errors every CPU-only start prints.
_NATIVE_LINE = re.compile(rb"^[IW]\d{4} \d\d:\d\d:[\d.]+\s+\d+ [^\]]+\] ")
_NATIVE_NOISE = re.compile(
    rb"^E\d{4} \d\d:\d\d:[\d.]+\s+\d+ [^\]]+\] (failed call to cuInit|oneDNN supports DT_\w+ only on platforms)"
)
_NATIVE_NOTICES = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    # The second line of cpu_feature_guard.cc's notice.
    b"To enable the following instructions:",
)
_installed = None


def is_native_log_line(line):
    """Whether a line of standard error is one of TensorFlow's native log lines."""
    return bool(_NATIVE_LINE.match(line) or _NATIVE_NOISE.match(line)) or line.startswith(_NATIVE_NOTICES)


class _Filter:
    def __init__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.terminal = os.isatty(self.saved)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.read_end = read_end
        self.thread = threading.Thread(target=self._pass_on, name="mtkeras-stderr-filter", daemon=True)
        self.thread.start()

    def _pass_on(self):
        pending = b""
        with os.fdopen(self.read_end, "rb", buffering=0) as source:
            while True:
                chunk = source.read(65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                kept = b"".join(line + b"\n" for line in lines if not is_native_log_line(line))
                if pending and not _could_be_native(pending):
                    kept += pending  # a partial line (a progress bar's "\r..."): shown now
                    pending = b""
                if kept:
                    os.write(self.saved, kept)
        if pending and not is_native_log_line(pending):
            os.write(self.saved, pending)

    def close(self):
        """Puts the real standard error back and waits for every line to pass."""
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.saved, 2)  # the pipe's last write end closes: the thread reads to the end
        self.thread.join(timeout=5)
        os.close(self.saved)


def _could_be_native(partial):
    """Whether an unfinished line may still turn out to be a native log line."""
    if is_native_log_line(partial) or any(notice.startswith(partial) for notice in _NATIVE_NOTICES):
        return True
    return bool(re.match(rb"^[IWE]\d{0,4}( [\d:.]*(\s+\d*( [^\]]*)?)?)?$", partial))


def stderr_is_terminal():
    """Whether standard error shows on a terminal (behind the filter's pipe too)."""
    return _installed.terminal if _installed is not None else sys.stderr.isatty()


def quiet_native_logs():
    """Filters TensorFlow's native log lines out of standard error for the rest of the process."""
    global _installed
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if _installed is None:
        _installed = _Filter()
        atexit.register(_installed.close)
    return _installed
