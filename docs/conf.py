"""Sphinx configuration for open_notebook_ext's documentation (`make docs`).

The build runs with warnings as errors (`-W --keep-going`) and `nitpicky`, so a
broken cross-reference or a reference page that no longer matches the code
fails `make test`. The reference pages are generated (docs/_ext/), never
copied: configuration from the traits, the REST API from openapi.yaml, the
command line from its applications, the audit events from their schemas.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from open_notebook_ext._version import __version__  # noqa: E402

project = "open_notebook_ext"
author = "open_notebook_ext contributors"
copyright = "open_notebook_ext contributors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "autodoc_traits",
    "sphinxcontrib.openapi",
    "open_notebook_reference",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []

# MyST: ::: fences, definition lists, and anchors for headings down to ###, so
# `[text](page.md#a-heading)` is a checked cross-reference.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Every reference must resolve. The exceptions, each for a reason outside this
# project:
nitpicky = True
nitpick_ignore: list[tuple[str, str]] = []

# Literal text: `--output` must not become an en dash, nor "x" curly quotes.
smartquotes = False

autodoc_member_order = "alphabetical"
autodoc_typehints = "signature"

# autodoc-traits warns (a Python FutureWarning, not a Sphinx warning) about one
# configurable trait inherited from jupyter_server without a help string
# (ExtensionApp.default_url); it is documented as "No help string is provided."
warnings.filterwarnings("ignore", message=r"\s*Documenting \w+\.default_url without a help",
                        category=FutureWarning)

html_theme = "pydata_sphinx_theme"
html_title = f"open_notebook_ext {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "auto"}
