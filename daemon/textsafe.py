"""Text from mail made safe to show: one function for the terminal, the digest and every command.

A mail body can carry terminal control sequences: ``ESC ] 0 ; title BEL`` sets the window title,
``ESC [ 2 J`` clears the screen, ``ESC ] 8 ; ; URL ESC \\`` makes a hidden link, and the 8-bit C1
forms (``\\x9b`` for CSI) do the same on some terminals. Bidi embedding and override marks reorder
what is around them. :func:`clean_text` removes whole escape sequences (not only their ESC, which
would leave ``]0;title`` behind), every other control character and the bidi controls, and
collapses whitespace to single spaces: the result is one printable line.

Rich markup (``[red]``) is a separate matter: terminal output still goes through
:func:`rich.markup.escape`, HTML through the template's autoescape.

>>> clean_text("Offer\\x1b]0;pwned\\x07 from \\x1b[31mAcme\\x1b[0m\\x1b]8;;https://evil.example\\x1b\\\\ here\\x1b]8;;\\x1b\\\\")
'Offer from Acme here'
>>> clean_text("a\\u202eb\\tc\\n d")
'ab c d'
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: ECMA-48 sequences, 7-bit and 8-bit: CSI (``ESC [`` / ``\x9b``) parameters and a final byte;
#: OSC, DCS, SOS, PM, APC (``ESC ] P X ^ _`` / ``\x9d \x90 \x98 \x9e \x9f``) up to BEL or ST
#: (``ESC \`` / ``\x9c``), or to the next ESC or the end when unterminated; any other ``ESC x``.
#: Every repetition stops at the next ESC or terminator, so the pattern runs in linear time.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_WS = re.compile(r"\s+")


def clean_text(value: Any) -> str:
    """Mail-derived text made safe to show on one line (see the module docstring).

    HTML is NOT escaped here (the digest template autoescapes), nor rich markup (commands use
    :func:`rich.markup.escape`).
    """
    if value is None:
        return ""
    text = str(value)
    if text.isprintable():
        return _WS.sub(" ", text).strip()
    text = _ESCAPES.sub("", text)
    text = _BIDI_CONTROLS.sub("", text)
    text = "".join(ch if ch in "\t\n\r " or unicodedata.category(ch) != "Cc" else " " for ch in text)
    return _WS.sub(" ", text).strip()
