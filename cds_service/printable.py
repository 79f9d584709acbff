"""Text from clients made safe to print on one line of a log or a terminal.

A path, a hookInstance or a clinician's comment is the client's text: a newline in it would start a forged log line
("... WARNING ... jti reused by ..."), and an escape sequence would drive the terminal of whoever reads the audit
trail. Control characters are printed escaped instead, as Python writes them in a string ("\\n", "\\x1b").
"""
from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators (which some viewers break lines at).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` with every control character escaped; text without one is returned as it is."""
    return _CONTROL.sub(_escaped, text)


def quoted_id(text: str) -> str:
    """A client-chosen id as a log line carries it: quoted (a newline in it cannot forge a line, even where the log
    is not formatted by log_format.LogFormatter) and cut to 80 characters (a 5 MB id made a 5 MB line)."""
    return repr(text[:80])


def _escaped(control: re.Match[str]) -> str:
    return control.group().encode("unicode_escape").decode("ascii")
