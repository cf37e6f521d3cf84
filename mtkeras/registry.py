"""A registry of classes by name: how task kinds, readers and encoders become known to configs.

Each extension axis has one (`mtkeras.tasks`, `mtkeras.data.readers`,
`mtkeras.encoders`): a class registers under the value of one of its class
attributes, and code that reads a config looks it up by that name.
"""

from mtkeras.errors import suggest


class Registry:
    """Classes by the name a class attribute gives them.

    Args:
        what: str. What the classes are, in messages ("task kind").
        attribute: str. The class attribute holding the name ("kind").
        identifier: bool. Names must be Python identifiers.
    """

    def __init__(self, what, attribute, identifier=True):
        self.what = what
        self.attribute = attribute
        self.identifier = identifier
        self._classes = {}

    def register(self, cls):
        """Class decorator: makes `cls` known by its name.

        Raises:
            ValueError: `cls` has no name, or another class has it.
        """
        name = getattr(cls, self.attribute, None)
        if not isinstance(name, str) or not name or (self.identifier and not name.isidentifier()):
            kind = "a Python identifier" if self.identifier else "a non-empty string"
            raise ValueError(
                f"{cls.__name__}: a {self.what} needs a `{self.attribute}` string that is {kind}. Received: {name!r}"
            )
        taken = self._classes.get(name, cls)
        # The same class defined again (a notebook cell or module re-run) replaces the earlier one.
        same = (taken.__module__, taken.__qualname__) == (cls.__module__, cls.__qualname__)
        if taken is not cls and not same:
            raise ValueError(f"{self.what.capitalize()} {name!r} is taken by {taken.__module__}.{taken.__name__}")
        self._classes[name] = cls
        return cls

    def get(self, name):
        """The class registered as `name`; a `ValueError` names the known ones (and the closest)."""
        cls = self._classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(f"Unknown {self.what} {name!r}{suggest(name, list(self._classes))}")
        return cls

    def classes(self):
        """`{name: class}` of every registered class, in registration order."""
        return dict(self._classes)
