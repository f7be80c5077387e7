"""The configuration error every part of the stack raises: one readable line per problem."""

from __future__ import annotations


class ConfigError(Exception):
    """Configuration that cannot work; `problems` holds one line per problem, each naming the setting.

    Library code raises it (or a subclass) and never prints or exits: the program
    that owns the process decides how to report it and with which exit code.
    """

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
