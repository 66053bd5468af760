"""The documentation: built with warnings as errors, generated references complete,
a short README, and no broken relative link.

The pages come from `make docs` (`make test` runs it first and passes the output
directory in ON_DOCS_HTML); run on their own, these tests build the docs into a
temporary directory with the same options. The reference pages are generated from
the code, so these tests read the code's own sources (traits, openapi.yaml, the
console script's application, the event schemas) and look for each item in the
built HTML: an item the generator dropped, or a page that stopped rendering, fails.
"""

from __future__ import annotations

import html
import importlib
import importlib.metadata
import inspect
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytest.importorskip("sphinx", reason="the docs extra is not installed (make install does it)")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README_LIMIT = 8 * 1024
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("ON_DOCS_HTML")
    if given:
        out = Path(given)
        assert (out / "index.html").is_file(), f"ON_DOCS_HTML={given} holds no build"
        return out
    out = tmp_path_factory.mktemp("docs") / "html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-E",
            "-W",
            "--keep-going",
            "-n",
            "-q",
            "-b",
            "html",
            "-d",
            str(out.parent / "doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def page_text(built: Path, page: str) -> str:
    """A built page's main content as plain text (tags dropped, entities decoded)."""
    raw = (built / page).read_text(encoding="utf-8")
    main = raw[raw.index("<main") : raw.index("</main>")]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", main)))


def package_root() -> Path:
    import open_notebook_ext

    return Path(open_notebook_ext.__file__).resolve().parent


def package_files(pattern: str) -> list[Path]:
    root = package_root()
    return sorted(p for p in root.glob(pattern) if "labextension" not in p.relative_to(root).parts)


# -- generated references ---------------------------------------------------------


def test_every_setting_of_the_extension_app_is_documented(built: Path) -> None:
    from open_notebook_ext.app import OpenNotebookApp

    text = page_text(built, "reference/configuration.html")
    names = sorted(OpenNotebookApp.class_traits(config=True))
    assert len(names) > 30
    missing = [n for n in names if f"c.OpenNotebookApp.{n} = " not in text]
    assert not missing, missing


def test_the_production_identity_provider_settings_are_documented(built: Path) -> None:
    config = (ROOT / "jupyter-config/production/jupyter_server_config.py").read_text()
    dotted = re.search(r'identity_provider_class\s*=\s*"([\w.]+)"', config).group(1)
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    own = cls.class_own_traits(config=True)
    assert "min_token_length" in own
    text = page_text(built, "reference/configuration.html")
    missing = [n for n in own if f"c.{name}.{n} = " not in text]
    assert not missing, missing


def test_every_configurable_class_of_the_package_is_documented(built: Path) -> None:
    """A configurable added anywhere in the package (not a CLI command) appears."""
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        reference = importlib.import_module("open_notebook_reference")
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    classes = reference.configurables()
    assert {c.__name__ for c in classes} >= {"OpenNotebookApp", "ConstantTimeIdentityProvider"}
    text = page_text(built, "reference/configuration.html")
    for cls in classes:
        missing = [n for n in reference.own_settings(cls) if f"c.{cls.__name__}.{n} = " not in text]
        assert not missing, (cls, missing)


def test_every_operation_of_openapi_yaml_is_documented(built: Path) -> None:
    (spec_file,) = package_files("**/openapi.yaml")
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    text = page_text(built, "reference/rest-api.html")
    operations = [
        (m.upper(), path) for path, item in spec["paths"].items() for m in item if m in HTTP_METHODS
    ]
    assert len(operations) >= 30
    missing = [
        f"{m} {p}"
        for m, p in operations
        if not re.search(rf"{m} {re.escape(p)}(?![\w/{{}}.-])", text)
    ]
    assert not missing, missing
    for summary in (
        op["summary"]
        for item in spec["paths"].values()
        for m, op in item.items()
        if m in HTTP_METHODS
    ):
        assert " ".join(summary.split()) in text, summary


def cli_application() -> type:
    (ep,) = importlib.metadata.entry_points(group="console_scripts", name="jupyter-open-notebook")
    app = ep.load().__self__
    assert inspect.isclass(app)
    return app


def test_every_cli_command_and_option_is_documented(built: Path) -> None:
    text = page_text(built, "reference/cli.html")
    commands = cli_application().subcommands
    assert {"rotate", "generate-key", "status", "verify", "migrate"} <= set(commands)
    for name, (cls, _help) in commands.items():
        if isinstance(cls, str):  # traitlets' "module.Class" (the import-env command)
            from traitlets.utils.importstring import import_item

            cls = import_item(cls)
        assert f"jupyter open-notebook {name} [options]" in text, name
        assert " ".join(cls.description.split()[:6]) in text, name
        for alias in cls.aliases:
            assert f"--{alias}=<" in text, (name, alias)
        for flag in cls.flags:
            assert f"--{flag}" in text, (name, flag)


def test_every_audit_event_schema_is_documented(built: Path) -> None:
    schemas = package_files("**/events/*.yaml")
    assert len(schemas) >= 4
    text = page_text(built, "reference/audit-events.html")
    for path in schemas:
        schema = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert schema["$id"] in text, path
        for field in schema["properties"]:
            assert field in text, (path, field)
        for value in schema["properties"]["action"].get("enum", []):
            assert value in text, (path, value)


def test_the_kernel_client_is_documented(built: Path) -> None:
    from open_notebook_ext import secrets

    text = page_text(built, "reference/python.html")
    for name in secrets.__all__:
        assert f"open_notebook_ext.secrets.{name}" in text, name


def test_the_module_map_lists_every_module(built: Path) -> None:
    text = page_text(built, "developers/architecture.html")
    assert ".. list-table::" not in text  # rendered as a table, not left as markup
    root = package_root()
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if {"migrations", "labextension"} & set(rel.parts):
            continue
        module = ".".join(("open_notebook_ext", *rel.with_suffix("").parts))
        assert module.removesuffix(".__init__") in text, module


# -- README and SECURITY.md ------------------------------------------------------------


def test_readme_is_short() -> None:
    size = (ROOT / "README.md").stat().st_size
    assert size < README_LIMIT, f"README.md is {size} bytes; keep it under {README_LIMIT}"


def test_readme_has_the_two_commands_and_the_examples() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make lab " in text and "make test " in text
    assert "curl " in text and "secrets.get(" in text
    assert "docs/images/" in text


def test_security_md_says_how_to_report_and_links_the_model() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    assert "Report a vulnerability" in text
    assert "Supported versions" in text
    assert "docs/explanation/security-model.md" in text


MD_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def github_slug(heading: str) -> str:
    """The anchor GitHub (and MyST's heading anchors) give a Markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return {github_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, re.M)}


def broken_markdown_links(path: Path) -> list[str]:
    broken = []
    for target in MD_LINK.findall(path.read_text(encoding="utf-8")):
        parts = urlsplit(target)
        if parts.scheme or (target.startswith("#") and not parts.path):
            if target.startswith("#") and parts.fragment not in markdown_anchors(path):
                broken.append(target)
            continue
        dest = (path.parent / unquote(parts.path)).resolve()
        if not dest.exists() or (
            parts.fragment
            and dest.suffix == ".md"
            and (parts.fragment not in markdown_anchors(dest))
        ):
            broken.append(target)
    return broken


@pytest.mark.parametrize("name", ["README.md", "SECURITY.md", "CHANGELOG.md"])
def test_relative_links_resolve(name: str) -> None:
    path = ROOT / name
    assert MD_LINK.findall(path.read_text(encoding="utf-8")) or name == "CHANGELOG.md"
    assert broken_markdown_links(path) == []


def test_the_markdown_link_check_catches_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n[ok](there.md) [ok](there.md#a-heading) [ok](#page)\n"
        "[gone](missing.md) [bad](there.md#no-such) [bad](#nowhere)\n"
        "[web](https://example.org/x)\n"
    )
    assert broken_markdown_links(page) == ["missing.md", "there.md#no-such", "#nowhere"]


# -- built HTML: every relative link resolves -------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name"):
                self.ids.add(value)
            elif (name == "href" and tag in ("a", "link")) or (
                name == "src" and tag in ("img", "script")
            ):
                self.links.append(value)


def broken_html_links(root: Path) -> list[str]:
    pages: dict[Path, _Links] = {}
    for page in root.rglob("*.html"):
        if "_static" in page.relative_to(root).parts:
            continue  # the theme's templates (webpack-macros.html), not pages
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in pages.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("mailto:"):
                continue  # external: not checked (no network)
            dest = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if dest.is_dir():
                dest = dest / "index.html"
            if not dest.exists() or (
                parts.fragment
                and dest.suffix == ".html"
                and (unquote(parts.fragment) not in pages[dest].ids)
            ):
                broken.append(f"{page.relative_to(root.resolve())}: {link}")
    return broken


def test_every_relative_link_in_the_built_docs_resolves(built: Path) -> None:
    pages = list(built.rglob("*.html"))
    assert len(pages) >= 25
    assert broken_html_links(built) == []


def test_the_html_link_check_catches_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(
        '<p id="here">x</p><a href="b.html#there">ok</a>'
        '<a href="#here">ok</a><a href="gone.html">gone</a>'
        '<a href="b.html#nope">bad</a><img src="img/x.png">'
        '<a href="https://example.org/">web</a>'
    )
    (tmp_path / "b.html").write_text('<h1 id="there">b</h1>')
    assert broken_html_links(tmp_path) == [
        "a.html: gone.html",
        "a.html: b.html#nope",
        "a.html: img/x.png",
    ]


def test_screenshots_are_shown(built: Path) -> None:
    panel = (built / "users/panel.html").read_text(encoding="utf-8")
    for shot in sorted((DOCS / "images").glob("*.png")):
        assert shot.name in panel, shot.name


def test_the_readme_module_map_names_exactly_the_packages_modules():
    """The README's map of open_notebook_ext/ lists every top-level module and package,
    and nothing that is not there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("```\nopen_notebook_ext/") :]
    block = block[: block.index("\n```", 4)]
    package_part = block.split("\nlabextension/")[0].split("\n", 2)[2]  # after the heading
    named = set(re.findall(r"(?<![\w/])([a-z_]+(?:\.py|\.yaml|/))", package_part))
    pkg = ROOT / "open_notebook_ext"
    present = {
        p.name + ("/" if p.is_dir() else "")
        for p in pkg.iterdir()
        if not p.name.startswith(("_", "."))
        and p.name != "labextension"
        and ((p.is_dir() and any(p.iterdir())) or p.suffix in (".py", ".yaml"))
    }
    present -= {"py.typed"}
    assert named == present, (sorted(present - named), sorted(named - present))
