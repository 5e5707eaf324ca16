"""Errors raised by the statistics engine."""


class StatsError(ValueError):
    """Input that the statistics engine cannot turn into a trustworthy number.

    The message names the problem (which argument, which stratum or domain, which value)
    so that a user can fix the data; it subclasses ``ValueError`` so callers may catch either.
    """
