"""HTML mail -> plain text that keeps paragraphs and marks quoted history.

Written on the stdlib HTMLParser so hostile HTML costs nothing to trust: scripts, styles and
hidden preheader text are dropped, and quoted history (``<blockquote>``, Gmail's
``gmail_quote``, Outlook's ``divRplyFwdMsg``) comes out with ``> `` prefixes so the reply
cleaner removes it exactly as it removes plain-text quotes.
"""

from __future__ import annotations

import html
import logging
import re
from html.parser import HTMLParser

_BLOCK = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "article", "header", "footer", "hr", "pre", "dd", "dt", "center", "blockquote",
}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|max-height\s*:\s*0|font-size\s*:\s*0", re.I)
_QUOTE_CLASS = re.compile(r"gmail_quote|yahoo_quoted|moz-cite|divRplyFwdMsg|OutlookMessageHeader|protonmail_quote", re.I)
log = logging.getLogger(__name__)

#: Markup beyond this is not read: a hostile page must not cost unbounded time or memory
#: (HTMLParser costs microseconds and up to 100 bytes per attribute: 2 MB of tags took 0.7 s,
#: 512 KB of attributes a 45 MB peak). Gmail clips mail at 102 KB: a reader sees no more.
MAX_HTML_CHARS = 256_000


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # tag, hidden, quoted
        self._open: dict[str, int] = {}  # how many of each tag are on the stack
        self._hidden = 0
        self._quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k.lower(): (v or "") for k, v in attrs}
        if tag in _VOID:
            if tag in ("br", "hr") and not self._hidden:
                self.out.append("\n")
            return
        hidden = tag in _SKIP or "hidden" in attr or bool(_HIDDEN_STYLE.search(attr.get("style", "")))
        quoted = tag == "blockquote" or bool(_QUOTE_CLASS.search(attr.get("class", "") + " " + attr.get("id", "")))
        self._stack.append((tag, hidden, quoted))
        self._open[tag] = self._open.get(tag, 0) + 1
        self._hidden += hidden
        self._quoted += quoted
        if tag in _BLOCK and not self._hidden:
            self.out.append("\n")
        if tag == "li" and not self._hidden:
            self.out.append("- ")
        elif tag in ("td", "th") and not self._hidden and self.out and not self.out[-1].endswith(("\n", "\t")):
            self.out.append("\t")  # cells side by side, as a browser shows them: "Type<td>Panel" is two words

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Pop to the matching tag; stray end tags are ignored (browsers do the same). The
        # count of open tags answers "is it open at all?" at once: scanning the stack for
        # every stray end tag made 70 KB of them cost seconds. Each popped entry was pushed
        # once, so the popping is linear overall.
        if self._open.get(tag, 0):
            while self._stack:
                name, hidden, quoted = self._stack.pop()
                self._open[name] -= 1
                self._hidden -= hidden
                self._quoted -= quoted
                if name == tag:
                    break
        if tag in _BLOCK and not self._hidden:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._quoted:
            data = data.replace("\n", "\n> ")
            if not self.out or self.out[-1].endswith("\n"):
                data = "> " + data
        self.out.append(data)


_COMMENT_OPEN = re.compile(r"<!--")
_COMMENT_CLOSE = re.compile(r"--\s*>")
_SECTION_CLOSE = {"standard": re.compile(r"\]\s*\]\s*>"), "ms": re.compile(r"\]\s*>")}
_SECTION_OPEN = re.compile(r"<!\[([a-zA-Z][-_.a-zA-Z0-9]*)?")
_SECTION_KIND = {"temp": "standard", "cdata": "standard", "ignore": "standard", "include": "standard",
                 "rcdata": "standard", "if": "ms", "else": "ms", "endif": "ms"}


def _last_end(pattern: re.Pattern[str], text: str) -> int:
    """Where the last match of ``pattern`` in ``text`` starts (-1: none), in one pass."""
    last = -1
    for m in pattern.finditer(text):
        last = m.start()
    return last


def defuse(markup: str) -> str:
    """Markup the stdlib HTMLParser reads in linear time, showing what a browser shows.

    HTMLParser looks for the end of an unterminated construct from every opener to the end
    of the input: 80 KB of ``<a `` took 38 s, unclosed ``<!--`` and ``<![CDATA[`` likewise.
    A browser hides an unterminated comment or marked section to the end of the page, so
    the markup is cut where the first one opens; a ``<`` after the last ``>`` can open no
    tag, so it becomes text. A marked section with a keyword HTMLParser does not know
    (``<![foo[``) made it give up on the rest of the page; it becomes a bogus comment,
    which browsers hide up to the next ``>``.

    >>> defuse("<p>3 < 5 and 4 <b")
    '<p>3 &lt; 5 and 4 &lt;b'
    >>> defuse("<p>kept</p><!-- never closed <p>hidden")
    '<p>kept</p>'
    """
    cut = len(markup)
    last_close = _last_end(_COMMENT_CLOSE, markup)
    m = _COMMENT_OPEN.search(markup, max(last_close, 0))  # openers before it end at a close
    if m is not None:
        cut = m.start()
    if "<![" in markup:
        closes = {kind: _last_end(rx, markup[:cut]) for kind, rx in _SECTION_CLOSE.items()}
        pieces: list[str] = []
        pos = 0
        for m in _SECTION_OPEN.finditer(markup, 0, cut):
            kind = _SECTION_KIND.get((m.group(1) or "").lower())
            if kind is None:  # unknown keyword: a bogus comment, as in a browser
                pieces.append(markup[pos : m.start()] + "<!_")
                pos = m.start() + 3
            elif m.start() > closes[kind]:  # never closed: the rest is hidden
                cut = m.start()
                break
        markup = "".join(pieces) + markup[pos:cut] if pieces else markup[:cut]
    else:
        markup = markup[:cut]
    last_gt = markup.rfind(">")
    if markup.find("<", last_gt + 1) >= 0:
        markup = markup[: last_gt + 1] + markup[last_gt + 1 :].replace("<", "&lt;")
    return markup


#: A run of whitespace this long says no more than a short one (HTML collapses it outside
#: ``<pre>``), but inside a tag it made HTMLParser's attribute scan allocate about 200 bytes
#: per character: 200,000 newlines between two attributes cost a 41 MB peak.
_LONG_SPACE = re.compile(r"\s{256,}")


def _squeeze(m: re.Match[str]) -> str:
    """A long whitespace run as the line breaks it makes (at most a paragraph break) or a space."""
    return "\n" * min(m.group().count("\n"), 2) or " "


#: A start tag whose attribute text is this long is looked at: HTMLParser builds every
#: attribute before the tag is handled, and 66,000 ``<a `` in one tag cost a 30 MB peak.
LONG_TAG_CHARS = 4096
#: More attributes than this in one tag is not markup anyone wrote: the tag keeps none.
MAX_ATTRIBUTES = 1000
_TAG_START = re.compile(r"<([a-zA-Z][^\s/>]*)")


def _attributes_over(seg: str, start: int, limit: int) -> bool:
    """Whether HTMLParser would read more than ``limit`` attributes in the tag whose name
    starts at ``start`` in ``seg``.

    Counted with the parser's own attribute pattern, so "/" separates attributes as it does
    there ("<b</</</..." is 100,000 attributes and took 57 MB) while a long quoted value (a
    data: URI) stays one. Stops at ``limit + 1``: bounded by the limit, not by the tag.
    """
    import html.parser

    name = html.parser.tagfind_tolerant.match(seg, start)  # type: ignore[attr-defined]
    attribute = html.parser.attrfind_tolerant  # type: ignore[attr-defined]
    k, n = (name.end() if name else start), 0
    while k < len(seg) and n <= limit:
        m = attribute.match(seg, k)
        if not m or m.end() == k:
            break
        n += 1
        k = m.end()
    return n > limit


def _thin_tags(markup: str) -> str:
    """Tags with thousands of attributes as bare tags; any other long tag (a data: URI) as it is.

    Linear: each stretch between two ``>`` is looked at once (a regex over the whole markup
    would rescan from every ``<`` to the next ``>``).
    """
    if len(markup) < LONG_TAG_CHARS:
        return markup
    parts = markup.split(">")
    for i, seg in enumerate(parts[:-1]):  # each stretch a ">" closed
        if len(seg) < LONG_TAG_CHARS:
            continue
        m = _TAG_START.search(seg)
        if m and len(seg) - m.end() >= LONG_TAG_CHARS and _attributes_over(seg, m.start(1), MAX_ATTRIBUTES):
            parts[i] = seg[: m.end()]
    return ">".join(parts)


def html_to_text(markup: str) -> str:
    """Convert an HTML body to readable text; quoted blocks get ``> `` prefixes.

    >>> html_to_text("<p>one</p>" + "\\n" * 10_000 + "<p>two</p>")
    'one\\n\\ntwo'
    """
    conv = _Converter()
    try:
        conv.feed(defuse(_thin_tags(_LONG_SPACE.sub(_squeeze, markup[:MAX_HTML_CHARS]))))
        conv.close()
    except (AssertionError, ValueError) as err:  # HTMLParser gives up on some garbage
        log.info("HTML body only partly readable (%s); keeping what was read", type(err).__name__)
    text = "".join(conv.out)
    text = html.unescape(text).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    # Quoted lines inside a quoted block already carry a prefix; collapse blank runs.
    out: list[str] = []
    for line in lines:
        if line in (">", "> >"):
            line = ">"
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip()
