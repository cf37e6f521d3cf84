"""Error types shared across the package's layers, and the "did you mean" they offer."""

import difflib


class ConfigError(ValueError):
    """A config that cannot be used; the message names file, line, field and value.

    Raised for training configs (`mtkeras train CONFIG`) and for TF Serving's
    config files (`models.config`, batching and monitoring files) alike.
    """


class DataError(ValueError):
    """Bad input data; the message names the file, the line and the problem."""


class RunError(RuntimeError):
    """A run directory in a state the command cannot work from (told to the user, no traceback)."""


class FieldError(ValueError):
    """A problem with one field of a config section, found by the code that owns the field.

    Readers, encoders and task kinds check their own part of a config and
    raise this; the config loader prefixes `field` with the section's path
    and names the file and line.

    Args:
        field: str. Dotted path below the section being checked, e.g. `"tasks.slots"`.
        message: str. What is wrong, with the bad value.
    """

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def closest(word, choices):
    """`; did you mean 'x'?` for the choice closest to a misspelt `word`, else ``."""
    close = difflib.get_close_matches(str(word), [str(choice) for choice in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def suggest(word, choices):
    """`; did you mean 'x'? (known: a, b)` for the closest of `choices`, else ` (known: a, b)`."""
    return f"{closest(word, choices)} (known: {', '.join(choices)})"
