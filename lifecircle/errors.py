"""The one error type that reaches users as a one-line message (CLI exit code 2)."""


class InputError(Exception):
    """Bad input: the message names the input and the problem in one line."""

    def __init__(self, source: object, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")
