"""Exception types that tell the command line how to answer.

``UsageError``: the user asked for something invalid (unknown name, out-of-range flag) -> exit 2.
``DataError``: a file, folder or data set is missing, unreadable or invalid -> exit 1.
Both are ``ValueError`` subclasses, so library users can catch ``ValueError`` as usual.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Invalid request or argument value (the command line exits with status 2)."""


class DataError(ValueError):
    """Missing, unreadable or invalid data or file (the command line exits with status 1)."""
