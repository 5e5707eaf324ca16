"""The errors of computing indicators: one class the callers catch, with the specific kinds below it.

``ComputeError`` is what the command line, the pages and ``compute_study(on_error=...)`` receive; the
dataset's own errors are kinds of it, so a definition that reads a question that does not exist fails the
same way as one that is written wrongly.
"""

from __future__ import annotations


class ComputeError(ValueError):
    """A definition that cannot be computed as written; the message names the definition and the reason."""


class DatasetError(ComputeError):
    """A variable of the dataset cannot be made (raised by ``Dataset.column``; the definition that asked
    for it is added to the message by ``compute_definition``)."""


class CircularVariable(DatasetError):
    """Derived variables that refer to each other in a circle."""
