"""The errors lifecircle raises on purpose; the CLI turns each into one line (exit code 2)."""


class LifecircleError(ValueError):
    """A problem lifecircle can name in one line: which input (or step) and what is wrong.

    Parameters
    ----------
    source : the input, option or step at fault (a path, ``--kinds``, ``scenario: intervention 2``)
    problem : what is wrong with it, in words a user can act on

    Examples
    --------
    >>> str(LifecircleError("--crs EPSG:3857", "Web Mercator distorts distances"))
    '--crs EPSG:3857: Web Mercator distorts distances'
    """

    def __init__(self, source: object, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class InputError(LifecircleError):
    """Bad input: a missing, unreadable or inconsistent file, option or value."""
