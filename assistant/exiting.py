"""How a command ends, shared by every interface that a command starts (`sre`, `sre web`,
`sre slack`, `sre runbooks`): exit codes and the one-line failure that carries one.

Exit codes: 0 answered (healthy or not), 2 bad input, 3 cluster unreachable or forbidden.
"""

from __future__ import annotations

EXIT_OK, EXIT_BAD_INPUT, EXIT_CLUSTER = 0, 2, 3


class Failure(Exception):
    """Ends the command with a one-line message and an exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
