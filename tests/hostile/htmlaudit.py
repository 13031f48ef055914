"""What a browser would act on in a report page: the checks that make a page inert."""
from __future__ import annotations

import re
from html.parser import HTMLParser

SAFE_REF_ATTRS = {"src", "href", "xlink:href", "action", "formaction", "background", "poster", "data", "srcset",
                  "cite", "longdesc", "usemap", "ping", "manifest", "codebase", "archive"}


class _PageAudit(HTMLParser):
    """Collects what a browser would act on: tags, attributes, style text, visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.style_text: list[str] = []
        self.text: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag in ("style", "script", "title"):
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] in ("style", "script"):
            self.style_text.append(data)
        else:
            self.text.append(data)


def audit(page: str) -> _PageAudit:
    a = _PageAudit()
    a.feed(page)
    a.close()
    return a


def assert_inert(page: str) -> _PageAudit:
    """No script, no handler, no outside reference, no dataset text in CSS, a CSP that forbids fetches."""
    a = audit(page)
    assert "script" not in a.tags
    for tag in ("iframe", "object", "embed", "link", "base", "form", "frame", "applet"):
        assert tag not in a.tags, tag
    assert not [(t, k) for t, k, _ in a.attrs if k.startswith("on")], "an event handler attribute"
    for tag, k, v in a.attrs:
        if k in SAFE_REF_ATTRS and v is not None:
            assert v.startswith("#") or v.startswith("data:image/") or (tag == "a" and k == "href" and
                                                                         is_page_name(v)), (tag, k, v)
        if k == "style" and v:
            assert "url(" not in v and "@import" not in v and "expression(" not in v, v
        if k == "http-equiv" and v and v.lower() == "refresh":
            raise AssertionError("a meta refresh")
    css = re.sub(r"/\*.*?\*/", "", "".join(a.style_text), flags=re.S)  # comments say what is never used
    assert "@import" not in css and "evil.example" not in css and "{{" not in css
    for chunk in css.split("url(")[1:]:
        assert chunk.startswith(("#", "data:", "'#", '"#')), chunk[:60]
    csp = [v for t, k, v in a.attrs if t == "meta" and k == "content" and v and "default-src" in v]
    assert csp and "default-src 'none'" in csp[0] and "script-src" not in csp[0].replace("default-src 'none'", "")
    return a


def is_page_name(v: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9._-]+\.html", v) is not None
