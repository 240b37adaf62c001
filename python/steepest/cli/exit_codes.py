"""The exit status of every ``steepest`` command, and the error that carries it."""

#: The command did what it was asked.
OK = 0
#: The command ran and failed: an invalid config or data file, training that diverged.
FAILED = 1
#: The command line is wrong (argparse uses 2 too), or the command needs a part of
#: steepest that is not installed (an extra, the benchmark suite).
USAGE = 2


class CommandError(Exception):
    """Ends a command with ``message`` on stderr and ``exit_code`` as the exit status."""

    def __init__(self, message: str, exit_code: int = FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code
