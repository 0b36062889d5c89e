r"""HTML to text: the visible text of a page, one block element per line, in linear time.

    >>> html_to_text("<h1>Bridge</h1><p>It opens &amp; closes.</p><script>x()</script>")
    '\nBridge\n\nIt opens & closes.\n'

A small tokenizer of its own rather than BeautifulSoup or html.parser: both are quadratic on
hostile pages (bs4's tree edits on 100,000 nested <div>: minutes; Python 3.11's html.parser
rescans the rest of the page for every unterminated "<"), and a folder of articles may hold
any HTML.
"""

from __future__ import annotations

from html import unescape
import re
from collections import Counter

_HTML_BLOCKS = (
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "header", "footer", "blockquote", "pre", "title", "figcaption", "dd", "dt",
)

def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block element per line; scripts and styles dropped.

    One pass over the page, in time linear in its size however it is nested or broken. It
    gives what BeautifulSoup's html.parser tree gave before (issue #16: minutes for 100,000
    nested <div>, and Python 3.11's html.parser itself rescans the rest of the page for each
    unterminated "<"), including its quirks: a run of whitespace between two tags is one
    space or line end, ruby annotations (<rt>, <rp>) are left out. Unlike it, a <body> closes
    a <head> left open, whose content is dropped; markup cut off by the end of the page (an
    unclosed comment or tag) is dropped, as browsers do, instead of shown as text; and
    character references are decoded as browsers do (html.unescape: "&copy2024" is "©2024",
    an unknown "&foo;" stays "&foo;").
    """
    text = _HtmlText()
    text.feed(html)
    return "".join(text.out)


_BLOCK_TAGS = frozenset(_HTML_BLOCKS)
_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_QUIET_TAGS = frozenset({"rt", "rp"})  # their own text is left out, not the tags within
_KEEP_SPACE_TAGS = frozenset({"pre", "textarea"})
_RAW_TEXT_TAGS = frozenset({"script", "style"})  # what follows is text up to the end tag, not markup
_VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "menuitem", "meta", "param",
    "source", "track", "wbr", "basefont", "bgsound", "command", "frame", "image", "isindex", "nextid", "spacer",
})
_ASCII_SPACE = " \t\n\r\f"
_TAG_NAME = re.compile(r"[a-zA-Z][^\t\n\r\f />\x00]*")
_TAG_GAP = re.compile(r"[\t\n\r\f /]*")
_ATTR_NAME = re.compile(r"[^\t\n\r\f />][^\t\n\r\f /=>]*")
_ATTR_EQUALS = re.compile(r"[\t\n\r\f ]*=[\t\n\r\f ]*")
_BARE_VALUE = re.compile(r"[^\t\n\r\f >]*")
_COMMENT_END = re.compile(r"--!?>")
_RAW_TEXT_END = {tag: re.compile(rf"</{tag}(?=[\t\n\r\f />])", re.IGNORECASE) for tag in _RAW_TEXT_TAGS}


class _HtmlText:
    """The text of a page, from a tokenizer and the open-element stack of a tree builder.

    Every step either consumes what it looked at or ends the page, and an end tag pops each
    element at most once (``open`` counts them by name, so one that matches nothing costs
    nothing): linear time. Nothing recurses, so any nesting depth is fine.
    """

    def __init__(self):
        self.out: list[str] = []
        self.text: list[str] = []  # text since the last tag, joined when the next one comes
        self.stack: list[str] = []
        self.open: Counter[str] = Counter()
        self.closed_voids: Counter[str] = Counter()  # <br> seen: a later </br> is not a tag
        self.hidden = self.quiet = self.keep_space = 0

    def feed(self, html: str) -> None:
        i, n = 0, len(html)
        while i < n:
            j = html.find("<", i)
            if j < 0:
                j = n
            if j > i:
                self._data(html[i:j])
            if j >= n:
                break
            i = self._markup(html, j)
        self._flush()
        while self.stack:
            self._pop_to(self.stack[-1])

    def _markup(self, html: str, i: int) -> int:
        """Handle the markup that starts with the "<" at ``i``; return where the text resumes."""
        n = len(html)
        if html.startswith("<!--", i):
            if html.startswith(">", i + 4) or html.startswith("->", i + 4):  # <!--> and <!--->
                end = html.find(">", i + 4) + 1
            else:
                match = _COMMENT_END.search(html, i + 4)
                end = match.end() if match else n  # cut off: a comment to the end, as browsers read it
            self._flush()
            return end
        if html.startswith("<![CDATA[", i):
            close = html.find("]]>", i + 9)
            if close >= 0:
                self._flush()
                self._data(html[i + 9:close], raw=True)
                self._flush(cdata=True)
                return close + 3
        if html.startswith("<!", i) or html.startswith("<?", i):  # doctype, bogus comments
            return self._skip_to_gt(html, i + 2)
        if html.startswith("</", i):
            name = _TAG_NAME.match(html, i + 2)
            if name is None:
                if html.startswith("</>", i):
                    return i + 3
                return self._skip_to_gt(html, i + 2)
            close = html.find(">", name.end())
            if close < 0:
                return n  # cut off inside the tag: dropped
            self._end_tag(name.group().lower())
            return close + 1
        name = _TAG_NAME.match(html, i + 1)
        if name is None:
            self._data("<")  # "a < b": a plain "<"
            return i + 1
        tag = name.group().lower()
        end = self._tag_end(html, name.end())
        if end is None:
            return n
        end, self_closing = end
        if self_closing:
            self._push(tag)
            self._pop_to(tag)
            return end
        if tag == "body" and self.open["head"]:
            self._pop_to("head")
        self._push(tag)
        if tag in _VOID_TAGS:
            self._pop_to(tag)
            self.closed_voids[tag] += 1
        elif tag in _RAW_TEXT_TAGS:
            match = _RAW_TEXT_END[tag].search(html, end)
            if match is None:
                return n  # never closed: the rest is its text, and that is hidden
            return match.start()  # its end tag is read as markup next
        return end

    def _skip_to_gt(self, html: str, start: int) -> int:
        self._flush()
        close = html.find(">", start)
        return close + 1 if close >= 0 else len(html)

    @staticmethod
    def _tag_end(html: str, k: int) -> tuple[int, bool] | None:
        """Where a start tag whose name ends at ``k`` ends, and whether it ends in "/>"; None
        when the page ends inside it (an unclosed quote, no ">")."""
        n = len(html)
        while True:
            gap = k
            k = _TAG_GAP.match(html, k).end()
            if k >= n:
                return None
            if html[k] == ">":
                return k + 1, k > gap and html[k - 1] == "/"
            k = _ATTR_NAME.match(html, k).end()
            equals = _ATTR_EQUALS.match(html, k)
            if equals is None:
                continue
            k = equals.end()
            if k < n and html[k] in "\"'":
                close = html.find(html[k], k + 1)
                if close < 0:
                    return None
                k = close + 1
            else:
                k = _BARE_VALUE.match(html, k).end()

    def _data(self, data: str, raw: bool = False) -> None:
        self.text.append(data if raw or "&" not in data else unescape(data))

    def _flush(self, cdata: bool = False) -> None:
        if not self.text:
            return
        data = "".join(self.text)
        self.text = []
        if self.hidden or (self.quiet and not cdata):
            return
        if not self.keep_space and not data.strip(_ASCII_SPACE):
            data = "\n" if "\n" in data else " "
        self.out.append(data)

    def _count(self, tag: str, step: int) -> None:
        self.open[tag] += step
        if tag in _HIDDEN_TAGS:
            self.hidden += step
        elif tag in _QUIET_TAGS:
            self.quiet += step
        elif tag in _KEEP_SPACE_TAGS:
            self.keep_space += step

    def _push(self, tag: str) -> None:
        self._flush()
        self.stack.append(tag)
        self._count(tag, 1)
        if tag in _BLOCK_TAGS and not self.hidden:
            self.out.append("\n")

    def _end_tag(self, tag: str) -> None:
        if self.closed_voids[tag]:
            self.closed_voids[tag] -= 1  # the </br> of a <br>: no tag, and no break in the text
            return
        self._pop_to(tag)

    def _pop_to(self, tag: str) -> None:
        """Close the innermost open ``tag`` and everything opened inside it; nothing if none is open."""
        self._flush()
        if not self.open[tag]:
            return
        while True:
            top = self.stack.pop()
            if top in _BLOCK_TAGS and not self.hidden:
                self.out.append("\n")
            self._count(top, -1)
            if top == tag:
                return
