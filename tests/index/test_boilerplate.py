"""A web page is read without what its landmarks mark as navigation, site header and footer, sidebars, search,
dialogs, but not what it hides (index/ingest/extract/boilerplate.py): pages in three site generators' markup,
the cases the rules turn on, and a property test against a plain recursive reading of the same rules."""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.extract import NoTextError, extract
from index.ingest.extract.boilerplate import strip_boilerplate
from index.ingest.extract.text import read_html
from tests.documents import SITE_THEMES, site_page

MENU = ["Installing the gauge", "Reading the tide tables", "Deploying on Kubernetes", "Changelog"]
PARAGRAPHS = [
    "Bolt the gauge to the pier at the lowest spring tide.",
    "Calibrate it against the harbour mark.",
]


@pytest.mark.parametrize("theme", sorted(SITE_THEMES))
def test_a_site_page_is_read_without_its_navigation_header_and_footer(theme: str) -> None:
    page = site_page(theme, "Tidepool", "Installing the gauge", PARAGRAPHS, MENU)
    extracted = extract(page.encode(), "install.html")
    assert extracted.title == "Installing the gauge - Tidepool"
    assert extracted.text.startswith("# Installing the gauge\n")
    for paragraph in PARAGRAPHS:
        assert paragraph in extracted.text
    # the other pages' titles, the site's name, its search box and its footer are not this page's text
    for furniture in [*MENU[1:], "Tidepool", "Search", "Skip to", "Powered", "Copyright", "Recent posts"]:
        assert furniture.lower() not in extracted.text.lower(), furniture
    whole = read_html(page, page=False)[1]  # read whole, as before: every page held the site's menu
    assert all(entry in whole for entry in MENU)


def test_a_header_or_footer_inside_an_article_is_the_article_s() -> None:
    page = (
        "<body><header>Site name</header><article><header><h1>Title of the post</h1></header>"
        "<p>The post itself.</p><footer>Filed under tides</footer><aside>A note on the post</aside>"
        "</article><aside>Site sidebar</aside><footer>Site footer</footer></body>"
    )
    text = extract(page.encode(), "post.html").text
    assert text.startswith("# Title of the post\n\nThe post itself.")
    assert "Filed under tides" in text
    assert "A note on the post" in text
    assert "Site" not in text


def test_roles_mark_landmarks_as_the_elements_do() -> None:
    page = (
        '<body><div role="banner">Banner</div><div role="navigation">Menu</div><div role="search">Find</div>'
        '<div role="main"><p>Content.</p><div role="complementary">Related links</div></div>'
        '<div role="contentinfo">Contact us</div><div role="alertdialog">Accept cookies?</div></body>'
    )
    assert extract(page.encode(), "roles.html").text == "Content.\n"


@pytest.mark.parametrize("hiding", ["hidden", 'aria-hidden="true"', 'style="display:none"'])
def test_what_a_page_hides_is_read(hiding: str) -> None:
    """An accordion's closed panel (a FAQ's answer) is hidden until clicked, by any of these."""
    page = (
        f"<body><main><h2>Can I swim in the harbour?</h2><div {hiding}><p>No, never.</p></div></main></body>"
    )
    assert extract(page.encode(), "faq.html").text == "## Can I swim in the harbour?\n\nNo, never.\n"


def test_a_page_without_landmarks_is_read_whole_as_before() -> None:
    page = (
        "<html><head><title>Old page</title></head><body><table><tr><td>Home | About | Contact</td></tr>"
        "<tr><td><h1>Tide tables</h1><p>High water at noon.</p></td></tr></table>"
        '<div class="footer">Last changed in 2003</div></body></html>'
    )
    assert read_html(page) == read_html(page, page=False)
    assert "Home | About | Contact" in extract(page.encode(), "old.html").text


def test_a_page_that_is_all_navigation_is_read_whole() -> None:
    """A site map holds nothing but links: read as a page, it would hold no text and be refused."""
    page = "<body><nav><h1>Site map</h1><ul><li>Tide tables</li><li>Gauges</li></ul></nav></body>"
    text = extract(page.encode(), "sitemap.html").text
    assert "Site map" in text
    assert "Gauges" in text
    # a main element without a word in it is no reason to drop the rest either
    empty_main = "<body><main><img src=x.png></main><p>Words outside it.</p></body>"
    assert "Words outside it." in extract(empty_main.encode(), "empty.html").text


def test_a_page_of_nothing_but_blanks_is_still_refused_for_no_text() -> None:
    with pytest.raises(NoTextError):
        extract(b"<body><nav> </nav><div hidden>  </div><main> </main></body>", "blank.html")


def test_landmarks_nested_far_deeper_than_python_recurses_are_read() -> None:
    depth = 50_000
    page = (
        "<body>" + "<div>" * depth + "<nav>menu</nav><main><p>deep</p></main>" + "</div>" * depth + "</body>"
    )
    soup = BeautifulSoup(page, "html.parser")
    assert strip_boilerplate(soup)
    assert soup.get_text().split() == ["deep"]


def test_an_epub_chapter_keeps_its_header() -> None:
    """A book's chapter is not a web page: its header holds the chapter's title."""
    chapter = "<html><body><header><h1>Chapter One</h1></header><p>It was night.</p></body></html>"
    assert read_html(chapter, page=False)[1] == "# Chapter One\n\nIt was night.\n"


# The property test: random trees of elements (tags and roles that landmarks turn on, some hidden) around
# numbered words, read by the extractor and by the rules written out plainly as a recursion.

TAGS = [
    "div",
    "span",
    "p",
    "section",
    "article",
    "main",
    "nav",
    "header",
    "footer",
    "aside",
    "button",
    "search",
]
ROLES = [None, None, None, "main", "navigation", "banner", "contentinfo", "complementary", "region", "dialog"]
HIDING = [None, None, None, None, "hidden", 'aria-hidden="true"', 'style="display: none"']


@dataclass(frozen=True)
class Node:
    tag: str
    role: str | None
    hiding: str | None
    children: tuple[Node | int, ...]


nodes = st.recursive(
    st.just(0),  # a word (numbered when rendered)
    lambda inner: st.builds(
        Node,
        st.sampled_from(TAGS),
        st.sampled_from(ROLES),
        st.sampled_from(HIDING),
        st.lists(inner, max_size=4).map(tuple),
    ),
    max_leaves=30,
)


def render(children: tuple[Node | int, ...], counter: itertools.count[int]) -> str:
    out = []
    for child in children:
        if isinstance(child, int):
            out.append(f" w{next(counter)} ")
            continue
        attributes = (f' role="{child.role}"' if child.role else "") + (
            f" {child.hiding}" if child.hiding else ""
        )
        out.append(f"<{child.tag}{attributes}>{render(child.children, counter)}</{child.tag}>")
    return "".join(out)


def reference(children: tuple[Node | int, ...]) -> list[str]:
    """The words a reader keeps, by the module's rules, recursively."""
    counter = itertools.count()
    every: list[str] = []
    outside: list[str] = []  # words outside boilerplate
    in_mains: list[str] = []
    found_main = False

    def out(node: Node, ancestors: list[Node]) -> bool:
        if node.tag in ("nav", "search", "button"):  # hidden or not
            return True
        if node.role in ("navigation", "banner", "contentinfo", "complementary", "dialog"):
            return True
        scopes = {"article", "aside", "nav", "section"}
        scope_roles = {"complementary", "navigation", "region"}
        if node.tag in ("header", "footer"):
            scopes, scope_roles = scopes | {"main"}, scope_roles | {"main"}
        elif node.tag != "aside":
            return False
        return not any(a.tag in scopes or a.role in scope_roles for a in ancestors)

    def visit(child: Node | int, ancestors: list[Node], dropped: bool, in_main: bool) -> None:
        nonlocal found_main
        if isinstance(child, int):
            word = f"w{next(counter)}"
            every.append(word)
            if not dropped:
                outside.append(word)
                if in_main:
                    in_mains.append(word)
            return
        dropped = dropped or out(child, ancestors)
        is_main = child.tag == "main" or child.role == "main"
        if is_main and not dropped:
            found_main = True
        for grandchild in child.children:
            visit(grandchild, [*ancestors, child], dropped, in_main or (is_main and not dropped))

    for child in children:
        visit(child, [], False, False)
    kept = in_mains if found_main else outside
    return kept or every


@settings(max_examples=300, deadline=None)
@given(st.lists(nodes, min_size=1, max_size=4).map(tuple))
def test_the_text_kept_is_what_the_rules_keep(children: tuple[Node | int, ...]) -> None:
    page = f"<html><body>{render(children, itertools.count())}</body></html>"
    soup = BeautifulSoup(page, "html.parser")
    strip_boilerplate(soup)
    assert soup.get_text(" ").split() == reference(children), html.unescape(page)
