"""What of a web page is its content, read from the landmarks the page itself marks (HTML-AAM's mapping of
elements to ARIA roles), not guessed from class names or text density.

Out: navigation (``nav``, role ``navigation``), the site's header and footer (``header`` and ``footer`` that
are not inside ``article``, ``aside``, ``main``, ``nav`` or ``section``: roles ``banner`` and
``contentinfo``), sidebars (``aside`` that is not inside an ``article``, ``aside``, ``nav`` or ``section``:
role ``complementary``), search forms, dialogs (cookie banners, pop-ups), menus and toolbars, and form
controls. Where the page marks its main content (``main``, role ``main``), only that is read. A page with
none of these marks is read whole, as before; one whose every word is in them (a site map) too. What a page
hides is read: an accordion's closed panels (a FAQ's answers) are hidden until clicked.

A documentation site built by Sphinx, MkDocs or Docusaurus puts the whole site's table of contents beside
every page: read whole, every page got a chunk of every other page's title, and a search for any of them
found them all (docs/ingest.md, "Web pages"; docs/benchmarks.md, "Web page boilerplate").
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PageElement

# Elements that are never content, whatever holds them.
_NEVER = frozenset({"nav", "search", "dialog", "button", "select", "datalist", "textarea", "menu"})
_NEVER_ROLES = frozenset(
    {
        "navigation",
        "banner",
        "contentinfo",
        "search",
        "complementary",
        "dialog",
        "alertdialog",
        "menu",
        "menubar",
        "toolbar",
    }
)
# header and footer are the page's banner and content information unless one of these holds them; aside is a
# complementary sidebar unless one of those but main does (HTML-AAM, "header", "footer" and "aside").
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_SECTIONING_ROLES = frozenset({"article", "complementary", "main", "navigation", "region"})
_ASIDE_SCOPES = _SECTIONING - {"main"}
_ASIDE_SCOPE_ROLES = _SECTIONING_ROLES - {"main"}


def strip_boilerplate(soup: BeautifulSoup) -> bool:
    """Take out of ``soup``, in place, all but the page's content (see the module). False, and ``soup``
    unchanged, where that would leave no text: the caller then reads the page whole."""
    body = soup.body or soup
    out: list[Tag] = []  # the outermost boilerplate elements
    mains: list[Tag] = []  # the outermost main elements outside them
    main_text = False  # a word in one of them
    body_text = False  # a word anywhere outside boilerplate
    # One walk with an explicit stack (a page may nest deeper than Python recurses), each node with what
    # holds it: a main element, sectioning content, an aside's scope.
    stack: list[tuple[PageElement, bool, bool, bool]] = [(n, False, False, False) for n in body.contents]
    stack.reverse()
    while stack:
        node, in_main, sectioned, aside_scoped = stack.pop()
        if not isinstance(node, Tag):
            if type(node) is NavigableString and node.strip():
                body_text = True
                main_text = main_text or in_main
            continue
        if _is_boilerplate(node, sectioned, aside_scoped):
            out.append(node)
            continue
        role = _role(node)
        if not in_main and (node.name == "main" or role == "main"):
            mains.append(node)
            in_main = True
        sectioned = sectioned or node.name in _SECTIONING or role in _SECTIONING_ROLES
        aside_scoped = aside_scoped or node.name in _ASIDE_SCOPES or role in _ASIDE_SCOPE_ROLES
        stack.extend((child, in_main, sectioned, aside_scoped) for child in reversed(node.contents))
    if not (main_text if mains else body_text):
        return False
    for tag in out:
        tag.decompose()
    if mains:
        content = soup.new_tag("div")
        for tag in mains:
            content.append(tag.extract())
        body.clear()
        body.append(content)
    return True


def _role(tag: Tag) -> str:
    role = tag.get("role")
    return role.strip().lower() if isinstance(role, str) else ""


def _is_boilerplate(tag: Tag, sectioned: bool, aside_scoped: bool) -> bool:
    """Whether ``tag`` is out, ``sectioned`` if sectioning content holds it, ``aside_scoped`` if an article,
    aside, nav or section does."""
    if tag.name in _NEVER or _role(tag) in _NEVER_ROLES:
        return True
    if tag.name in ("header", "footer"):
        return not sectioned
    return tag.name == "aside" and not aside_scoped
