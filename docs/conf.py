# Sphinx config of the docs site; docs/build.py stages the pages and runs Sphinx with it.
# Everything here works offline: no theme, font or script is fetched at build or view time.
import configparser
import importlib.util
from pathlib import Path

_ini = configparser.ConfigParser()
_ini.read(Path(__file__).resolve().parent.parent / "settings.ini")
_s = _ini["DEFAULT"] if _ini.has_section("DEFAULT") or _ini.defaults() else {}

project = _s.get("title", "tinyhelen")
author = _s.get("author", "")
copyright = _s.get("copyright", "").replace("%(author)s", author)
release = version = _s.get("version", "")

extensions = ["myst_nb", "sphinx_copybutton", "sphinx_design"]
# MathJax from a PyPI package (its import name has dashes): math renders with no network. Without it,
# Sphinx loads MathJax from a CDN, so math shows only when the reader is online.
if importlib.util.find_spec("sphinx-mathjax-offline"):
    extensions.append("sphinx-mathjax-offline")

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
nb_execution_mode = "off"  # docs/build.py renders stored outputs (or runs notebooks itself with --execute)
nb_merge_streams = True
nb_render_markdown_format = "myst"  # markdown outputs (tables from `Markdown(...)`) render as the pages do; commonmark has no tables
myst_enable_extensions = ["dollarmath", "amsmath", "attrs_block", "colon_fence", "deflist", "linkify", "substitution"]
myst_linkify_fuzzy_links = False  # only http(s):// and www. become links, not file names such as RESULTS.md
myst_heading_anchors = 4  # nbdev's links point at show_doc headings (### name)
suppress_warnings = ["myst.header"]  # show_doc's ### headings may follow a # title directly

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["tinyhelen.css"]
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,  # it would offer the staged (processed) notebook, not the one in nbs/
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
    "navbar_persistent": [],  # the sidebar has the search box; no second one in a header bar
}
