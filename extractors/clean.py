"""Keep only what is new in a message: the newest reply, with its signature split off.

Quoted history and forwarded blocks repeat what earlier messages said; counting them again
would make every reply re-fire the first message's signals. The signature is not evidence
either, but it is kept apart because it holds the sender's title ("VP of Engineering").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Characters analysed at most per message; a 1 MB body is cut here (and the cut is logged
#: by the pipeline) so extraction time stays bounded.
MAX_TEXT_CHARS = 60_000

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Lines that open quoted history or a forwarded message, in the common clients and languages.
_REPLY_HEADER = re.compile(
    r"""^\s*(
        on\s.{4,200}\s(wrote|writes|a\s+écrit|schrieb|escribió|scrisse|schreef)\s*:?\s*$   # On <date>, <name> wrote:
      | (le|am|el|il|op|em)\s.{4,200}\s(a\s+écrit|schrieb|escribió|scrisse|schreef|escreveu|geskryf)\s*:?\s*$
      | .{0,80}<[^>@\s]+@[^>\s]+>\s+(wrote|a\s+écrit|schrieb)\s*:\s*$                     # Name <a@b> wrote:
      | -{2,}\s*(original\s+message|ursprüngliche\s+nachricht|message\s+d'origine|mensaje\s+original)\s*-{2,}
      | -{2,}\s*forwarded\s+message\s*-{2,}
      | begin\s+forwarded\s+message\s*:
      | -{2,}\s*weitergeleitete\s+nachricht\s*-{2,}
      | _{10,}\s*$
    )""",
    re.I | re.X,
)
# "On Thu, Sep 17, 2026 at 2:40 PM Maya <maya@x>" with "wrote:" wrapped onto the next line.
_REPLY_HEADER_START = re.compile(r"^\s*(on|le|am|el|op)\s.{4,200}$", re.I)
_REPLY_HEADER_END = re.compile(r"^.{0,120}\b(wrote|a\s+écrit|schrieb|escribió|schreef|geskryf)\s*:\s*$", re.I)
# Outlook's header block: From: / Sent: (or Date:) / To: / Subject: on consecutive lines.
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von|de|van)\s*:\*?\s+\S", re.I)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(sent|date|to|subject|gesendet|envoyé|datum|an|cc)\s*:", re.I)

_SIGN_OFF = re.compile(
    r"""^\s*(
        ((thanks|thank\s+you|many\s+thanks)\s*(&|and|n)\s*)?(best|kind|warm|warmest|many|all\s+the\s+best|with\s+best)?\s*(regards|wishes)
      | best | cheers | thanks | thank\s+you | many\s+thanks | thanks\s+(again|so\s+much|a\s+lot)
      | thank\s+you\s+(again|so\s+much) | sincerely | yours(\s+sincerely|\s+truly)? | talk\s+soon
      | speak\s+soon | all\s+the\s+best | best\s+wishes | warmly | (very\s+)?respectfully | take\s+care
      | v/r  # "Very respectfully": US government and military mail
      | good\s+luck | have\s+a\s+(good|great|nice|lovely)\s+(day|weekend|week|evening)
      | looking\s+forward(\s+to\s+[\w\s]{1,40})?
      | viele\s+grüße | mit\s+freundlichen\s+grüßen | cordialement | saludos | groetjes
      | au\s+plaisir | bien\s+à\s+vous | bonne\s+journée | à\s+bientôt
      | (beste|liebe|herzliche)\s+grüße | (met\s+)?(vriendelijke|hartelijke)\s+groet(en)? | groeten
      | (med\s+)?(vänlig|vänliga|venlig|venlige)\s+(hälsning|hälsningar|hilsen) | hälsningar | mvh
      | (un\s+)?saludos?\s+cordiales | un\s+saludo | atentamente | (com\s+os\s+melhores\s+)?cumprimentos
      | distinti\s+saluti | cordiali\s+saluti | ystävällisin\s+terveisin
    )\s*[,.!]*\s*(-+\s*\w+)?\s*$""",
    re.I | re.X,
)
#: Signature lines are matched stripped and at most this long: "\s*" runs on both sides of
#: an optional word backtrack quadratically on a line of 60,000 tabs (17 s). A sign-off or a
#: ``--`` line is never longer; a disclaimer or "Sent from" line is recognised by its start.
_LINE_CAP = 300
_SIG_DELIM = re.compile(r"^\s*--\s*$|^\s*__\s*$")
_MOBILE = re.compile(r"^\s*(sent\s+from\s+my\s+\w+|get\s+outlook\s+for\s+\w+|sent\s+from\s+(mail|outlook))", re.I)
_CONTACTISH = re.compile(r"@|\bhttps?://|www\.|\+?\d[\d\s().-]{6,}\d|\|", re.I)
_TITLEISH = re.compile(
    r"\b(recruit\w*|talent|sourcer|coordinator|manager|director|vp|vice\s+president|head\s+of|"
    r"chief|ceo|cto|cfo|coo|founder|co-founder|partner|lead|engineer|hr|people|hiring|president|"
    r"principal|officer|specialist|associate|consultant|directeur|directrice|direktor\w*|leiter\w*|gerente|"
    r"directora|diretor\w*|responsable)\b",
    re.I,
)


@dataclass(frozen=True)
class Cleaned:
    """The newest reply (``text``), its ``signature``, and what was cut away."""

    text: str
    signature: str
    had_quote: bool
    forwarded: bool
    truncated: bool


def normalize(text: str) -> str:
    """Unify newlines and drop zero-width and bidi controls (they hide phrases from rules)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _INVISIBLE.sub("", text)


def clean_reply(body: str, *, max_chars: int = MAX_TEXT_CHARS) -> Cleaned:
    """Split ``body`` into the newest reply and its signature.

    >>> c = clean_reply("Great news!\\n\\nBest,\\nJo\\nVP of Data\\n\\nOn Mon, Jo wrote:\\n> old")
    >>> (c.text, c.signature)
    ('Great news!', 'Best,\\nJo\\nVP of Data')
    """
    body = normalize(body)
    truncated = len(body) > max_chars * 4
    if truncated:
        body = body[: max_chars * 4]
    lines = body.split("\n")
    cut, forwarded = _quote_start(lines)
    had_quote = cut < len(lines)
    new_lines = [ln for ln in lines[:cut] if not ln.lstrip().startswith(">")]
    if any(ln.lstrip().startswith(">") for ln in lines[:cut]):
        had_quote = True
    text_lines, sig_lines = _split_signature(new_lines)
    text = "\n".join(text_lines).strip()
    if len(text) > max_chars:
        text, truncated = text[:max_chars], True
    return Cleaned(text, "\n".join(sig_lines).strip(), had_quote, forwarded, truncated)


def _quote_start(lines: list[str]) -> tuple[int, bool]:
    """Index of the first line of quoted history or a forwarded block, and whether a forward."""
    rest_quoted = _rest_quoted(lines)
    for i, line in enumerate(lines):
        if len(line) > 400:
            continue
        if _REPLY_HEADER.match(line):
            return i, "forward" in line.lower() or "weitergeleitet" in line.lower()
        if _REPLY_HEADER_START.match(line) and i + 1 < len(lines) and _REPLY_HEADER_END.match(lines[i + 1]):
            return i, False
        if _OUTLOOK_FROM.match(line):
            following = [ln for ln in lines[i + 1 : i + 5] if ln.strip()]
            if sum(bool(_OUTLOOK_NEXT.match(ln)) for ln in following[:3]) >= 2:
                return i, False
        if rest_quoted[i] and line.lstrip().startswith(">"):
            return _attribution_before(lines, i), False
    return len(lines), False


#: The line that attributes a quote ends with a colon and names a date or an address, in any
#: language and word order: "Op di 21 apr 2026 om 07:58 schreef Katrin <k@x.nl>:", "Den 21 apr.
#: 2026 kl. 07:58 skrev ...:", "ti 21.4.2026 klo 7.58 Katrin (k@x.fi) kirjoitti:".
_ATTRIBUTION = re.compile(r"^(?=[^\n]*(?:\d|@))[^\n]{8,300}:\s*$")


def _attribution_before(lines: list[str], i: int) -> int:
    """Where the quoted history that starts at ``>`` line ``i`` really starts: at the line that
    attributes it (one line, or two when a long address wrapped), when there is one just
    before it. Left in the text, its date and time read as a slot."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0 or not lines[j].rstrip().endswith(":"):
        return i
    if _ATTRIBUTION.match(lines[j]):
        return j
    k = j - 1
    if (k >= 0 and lines[k].strip() and len(lines[j]) < 80 and not lines[k].rstrip().endswith((".", "!", "?", ":"))
            and _ATTRIBUTION.match(lines[k].rstrip() + lines[j].strip())):
        return k  # "Am ... schrieb Tomasz Wieczorek <t.wieczorek@poczta-" / "wisla.pl>:"
    return i


def _rest_quoted(lines: list[str]) -> list[bool]:
    """For each line: is every non-blank line from it to the end a ``>`` quote?

    One pass from the end; asking it afresh for every ``>`` line rebuilt the rest of the
    message each time (300 KB of quote lines took 7 s).
    """
    out = [False] * len(lines)
    quoted = False  # nothing after the last line: a blank tail alone is not quoted history
    seen = False
    for i in range(len(lines) - 1, -1, -1):
        stripped = lines[i].lstrip()
        if stripped:
            quoted = stripped.startswith(">") and (quoted or not seen)
            seen = True
        out[i] = quoted
    return out


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    """Find where the signature starts: a ``--`` line, a sign-off, or a trailing contact block."""
    n = len(lines)
    disclaimer = n
    for i, line in enumerate(lines):
        head = line.strip()[:_LINE_CAP]  # the patterns read a line's start; see _LINE_CAP
        if _SIG_DELIM.match(head):
            return lines[:i], lines[i:]
        if _MOBILE.match(head):
            # "Gord / Northern Comfort Mechanical | Owner" above "Sent from my iPhone": the card is
            # the signature too
            body, card = _split_signature(lines[:i])
            return body, card + lines[i:]
        if _DISCLAIMER.match(head):
            disclaimer = i
            break
    nonblank = [i for i, ln in enumerate(lines[:disclaimer]) if ln.strip()]
    # A sign-off among the last lines before any legal footer, with only short lines (name,
    # title, contact) after it.
    for i in reversed(nonblank[-12:]):
        line = lines[i].strip()
        if len(line) <= _LINE_CAP and _SIGN_OFF.match(line) and _looks_like_signature_tail(lines[i + 1 : disclaimer]):
            return lines[:i], lines[i:]
    if disclaimer < n:
        return lines[:disclaimer], lines[disclaimer:]
    if not nonblank:
        return lines, []
    # No sign-off: a trailing block after a blank line that reads like a business card.
    last_blank = max((i for i in range(n) if not lines[i].strip() and i < nonblank[-1]), default=-1)
    if last_blank >= 0:
        tail = lines[last_blank + 1 :]
        body_before = [ln for ln in lines[:last_blank] if ln.strip()]
        if body_before and 1 <= len([t for t in tail if t.strip()]) <= 6 and _is_card(tail):
            return lines[:last_blank], tail
    return lines, []


def _looks_like_signature_tail(tail: list[str]) -> bool:
    content = [ln for ln in tail if ln.strip()]
    return len(content) <= 10 and all(len(ln.strip()) <= 100 for ln in content)


#: The first line of a legal footer under a signature: the name, title and contact lines above it
#: are the signature, the footer may run as long as it likes.
_DISCLAIMER = re.compile(
    r"\s*(?:-{3,}|_{3,}|\*{3,})?\s*(?:disclaimer|confidentiality(?:\s+(?:notice|note|statement))?|legal\s+notice|"
    r"important\s+notice|privileged\s+(?:and|&)\s+confidential|"
    r"this\s+(?:e-?mail|message)\s+(?:and\s+any\s+attachments\s+)?(?:is|are|may\s+be)\s+(?:confidential|intended)|"
    r"the\s+information\s+(?:contained|in\s+this)|aviso\s+de\s+confidencialidad|"
    r"you\s+(?:have\s+)?(?:received|are\s+receiving|get)\s+this\s+(?:e-?mail|message|notification)\s+because)\b",
    re.I,
)


def _is_card(tail: list[str]) -> bool:
    content = [ln.strip() for ln in tail if ln.strip()]
    if not all(len(ln) <= 80 for ln in content):
        return False
    if any(ln.endswith(("?", ".")) and len(ln.split()) > 6 for ln in content):
        return False
    first = content[0]
    name_first = len(first.split()) <= 5 or ("|" in first and len(first.split("|")[0].split()) <= 4)
    return any(_CONTACTISH.search(ln) or _TITLEISH.search(ln) for ln in content) and name_first
