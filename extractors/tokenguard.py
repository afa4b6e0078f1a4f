"""Keep spaCy's tokenizer linear: break long runs of punctuation before it sees them.

spaCy strips prefixes and suffixes from a whitespace-free chunk one at a time, and each
strip copies and rescans the rest of the chunk: a chunk of n affix characters costs
O(n^2). Eight kilobytes of ``$`` took 12.7 s, sixty of ``=`` 684 s; about twenty ASCII
characters do it (``$ ? , ( ) [ " ' * = # ! : ; % & + < > _``), as do emoji, currency
signs, dashes and ``'s`` repeated, and ``&amp;`` repeated in HTML decodes to a run of ``&``.

:func:`break_runs` replaces one character in every ``RUN`` of such a run with a space, and one
in every ``CHUNK`` of any chunk without whitespace (a mangled URL of 60,000 characters cost
3.2 s in spaCy's infix handling). The
replacement is one character for one, so every offset into the text stays an offset into
the original: evidence maps back unchanged. Runs of ``RUN`` characters or fewer (separator
lines, ``?!``, emoticons, ``'s``) are left alone.
"""

from __future__ import annotations

import re

#: Longest run of affix characters left whole. A chunk costs at most RUN steps of at most
#: its own length, so tokenizing stays linear in the text.
RUN = 16

#: Longest chunk without whitespace left whole. spaCy's infix and URL handling is quadratic
#: in a chunk's length too (a 60,000-character mangled URL: 3.2 s; 1,000 characters: 2 ms);
#: no word or link that matters is longer.
CHUNK = 512
_LONG_CHUNK = re.compile(r"\S{%d,}" % (CHUNK + 1))

# A character that is neither a letter/digit nor whitespace, an underscore, or the "s"/"S"
# of an "'s" suffix: what spaCy's English prefix and suffix rules strip one by one.
_AFFIX_RUN = re.compile(r"(?:[^\w\s]|_|(?<=['\u2019])[sS])" + "{%d,}" % (RUN + 1))


def break_runs(text: str) -> str:
    """``text`` with a space in place of every ``RUN``-th character of a long affix run.

    >>> break_runs("price " + "$" * 20 + " ok")
    'price $$$$$$$$$$$$$$$$ $$$ ok'
    >>> break_runs("Thanks!!! See you (Tuesday).") == "Thanks!!! See you (Tuesday)."
    True
    """
    if len(text) <= RUN:
        return text
    if has_affix_run(text):
        text = _AFFIX_RUN.sub(_break, text)
    if len(text) > CHUNK and _LONG_CHUNK.search(text) is not None:
        text = _LONG_CHUNK.sub(_break_chunk, text)
    return text


def has_affix_run(text: str) -> bool:
    """Does ``text`` hold an affix run longer than ``RUN``? The same answer as searching the
    whole text with :data:`_AFFIX_RUN`, about four times faster: a run holds no whitespace, so
    only the words longer than ``RUN`` can hold one (``str.split`` and the pattern's ``\\s``
    agree on what whitespace is), and the look-behind at a word's start sees whitespace or
    nothing either way."""
    return any(len(w) > RUN and _AFFIX_RUN.search(w) is not None for w in text.split())


def _break(m: re.Match[str]) -> str:
    return _every(m.group(0), RUN)


def _break_chunk(m: re.Match[str]) -> str:
    return _every(m.group(0), CHUNK)


def _every(run: str, n: int) -> str:
    """``run`` with its (n+1)-th, 2(n+1)-th, ... character replaced by a space."""
    chars = list(run)
    chars[n :: n + 1] = " " * len(range(n, len(chars), n + 1))
    return "".join(chars)
