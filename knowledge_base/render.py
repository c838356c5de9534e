"""Article Markdown to safe HTML: python-markdown, then nh3 with a short allow-list
(no scripts, no event handlers, no javascript: URLs)."""

from __future__ import annotations

import markdown
import nh3

TAGS = {"p", "br", "hr", "strong", "em", "b", "i", "u", "del", "code", "pre", "blockquote",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody",
        "tr", "th", "td", "mark", "span", "sup", "sub"}
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def markdown_to_html(text: str) -> str:
    html = markdown.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer")
