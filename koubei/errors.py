"""The project's error for ordinary mistakes: a missing file, a bad option, a missing variable.

The CLI prints its message as one line (the message names the file, option or variable) and
exits non-zero, instead of a traceback. Code raises it where the mistake is recognised; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class KoubeiError(Exception):
    """A user-facing error whose message alone says what to fix."""

    exit_code = 2
