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

#: Text beyond this is not read: a hostile page must not cost unbounded time.
MAX_HTML_CHARS = 2_000_000


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # tag, hidden, quoted
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
        self._hidden += hidden
        self._quoted += quoted
        if tag in _BLOCK and not self._hidden:
            self.out.append("\n")
        if tag == "li" and not self._hidden:
            self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Pop to the matching tag; stray end tags are ignored (browsers do the same).
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                for _, hidden, quoted in self._stack[i:]:
                    self._hidden -= hidden
                    self._quoted -= quoted
                del self._stack[i:]
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


def html_to_text(markup: str) -> str:
    """Convert an HTML body to readable text; quoted blocks get ``> `` prefixes."""
    conv = _Converter()
    try:
        conv.feed(markup[:MAX_HTML_CHARS])
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
