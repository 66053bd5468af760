"""Reference pages generated from the code, never copied into the docs.

Each directive finds its source the way the package itself does, so a module
that moves (issue 16's restructure) or a trait, route, command or event that
is added shows up in the next build without editing a page:

``open-notebook-configurables``
    Every ``traitlets`` configurable class of the package with settings of its
    own (``config=True``), found by importing the package's modules, each
    rendered by autodoc-traits' ``autoconfigurable``. The extension app (from
    ``_jupyter_server_extension_points``) comes first; the command line's own
    applications are left to ``open-notebook-cli``.
``open-notebook-openapi``
    sphinxcontrib-openapi's ``openapi`` directive on the package's
    ``openapi.yaml``, wherever it lies inside the package.
``open-notebook-cli``
    The ``jupyter open-notebook`` command, from the application behind the
    ``jupyter-open-notebook`` console script: each subcommand's description,
    options (aliases, with the setting each one sets) and flags.
``open-notebook-audit-events``
    Every audit event schema (``events/*.yaml`` anywhere in the package): its
    id, version, description and fields.
``open-notebook-modules``
    The package's module map: every module and the first line of its
    docstring (so a module without one shows as such).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import pkgutil
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

PACKAGE = "open_notebook_ext"
CONSOLE_SCRIPT = "jupyter-open-notebook"
# Sub-packages that are not importable on their own: Alembic's env.py runs a
# migration when imported; labextension/ is the built panel (no Python).
SKIP_PACKAGES = ("migrations", "labextension")


def package_root() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{PACKAGE} is not importable: install it (make install)")
    return Path(next(iter(spec.submodule_search_locations)))


def package_files(pattern: str) -> list[Path]:
    """Files of the package matching a glob (relative to the package root), sorted."""
    root = package_root()
    return sorted(p for p in root.glob(pattern)
                  if not any(part in SKIP_PACKAGES for part in p.relative_to(root).parts))


def openapi_file() -> Path:
    found = package_files("**/openapi.yaml")
    if len(found) != 1:
        raise RuntimeError(f"expected one openapi.yaml in {package_root()}, found {found}")
    return found[0]


def event_schema_files() -> list[Path]:
    found = package_files("**/events/*.yaml")
    if not found:
        raise RuntimeError(f"no events/*.yaml under {package_root()}")
    return found


@cache
def package_modules() -> tuple[Any, ...]:
    """Every module of the package, imported (the skipped sub-packages aside)."""
    pkg = importlib.import_module(PACKAGE)
    modules = [pkg]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{PACKAGE}."):
        if any(part in SKIP_PACKAGES for part in info.name.split(".")):
            continue
        modules.append(importlib.import_module(info.name))
    return tuple(modules)


def cli_app() -> type:
    """The application class behind the ``jupyter-open-notebook`` console script."""
    for ep in importlib.metadata.entry_points(group="console_scripts", name=CONSOLE_SCRIPT):
        main = ep.load()
        app = getattr(main, "__self__", None)  # Application.launch_instance is a classmethod
        if inspect.isclass(app):
            return app
        raise RuntimeError(f"{CONSOLE_SCRIPT} is {ep.value}, not a traitlets launch_instance")
    raise RuntimeError(f"no console script {CONSOLE_SCRIPT}: install the package (make install)")


def cli_commands() -> dict[str, type]:
    """Subcommand name -> application class (traitlets' ``subcommands``)."""
    out: dict[str, type] = {}
    for name, (target, _help) in cli_app().subcommands.items():
        if isinstance(target, str):  # traitlets also accepts "module.Class"
            module, _, attr = target.rpartition(".")
            target = getattr(importlib.import_module(module), attr)
        out[name] = target
    return out


def extension_app() -> type:
    pkg = importlib.import_module(PACKAGE)
    return pkg._jupyter_server_extension_points()[0]["app"]


def own_settings(cls: type) -> list[str]:
    """Settings (``config=True`` traits) a class declares itself or through the
    package's plain ``HasTraits`` mixins (OpenNotebookApp's config/ modules): the
    ones set as ``c.<cls.__name__>.<name>`` that no upstream class documents."""
    from traitlets import HasTraits
    from traitlets.config import Configurable

    declared = [cls] + [c for c in cls.__mro__[1:]
                        if c.__module__.startswith(PACKAGE + ".")
                        and issubclass(c, HasTraits) and not issubclass(c, Configurable)]
    return sorted({n for c in declared for n in c.class_own_traits(config=True)})


def configurables() -> list[type]:
    """Configurable classes defined in the package that declare settings of their own."""
    from traitlets.config import Configurable

    cli = {cli_app(), *cli_commands().values()}
    found: dict[str, type] = {}
    for module in package_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, Configurable) and cls.__module__ == module.__name__
                    and cls not in cli and not any(c in cli for c in cls.__mro__)
                    and own_settings(cls)):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    app = extension_app()
    return sorted(found.values(), key=lambda c: (c is not app, c.__name__))


def dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Generated(SphinxDirective):
    """Emit reStructuredText lines and parse them in place."""

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        container = nodes.section() if self.allow_titles else nodes.container()
        text = StringList()
        source = f"<{self.name}>"
        for i, line in enumerate(self.lines()):
            text.append(line, source, i)
        nested_parse_with_titles(self.state, text, container)
        return list(container.children)

    allow_titles = True


class ConfigurablesDirective(_Generated):
    def lines(self) -> list[str]:
        out: list[str] = []
        for cls in configurables():
            title = cls.__name__
            out += [title, "-" * len(title), "",
                    f"``{dotted(cls)}``, set as ``c.{cls.__name__}.<name>`` in a Jupyter "
                    f"config file or ``--{cls.__name__}.<name>=...`` on the command line.",
                    "", f".. autoconfigurable:: {dotted(cls)}", ""]
        return out


class CliDirective(_Generated):
    def lines(self) -> list[str]:
        app = cli_app()
        prog = "jupyter " + CONSOLE_SCRIPT.removeprefix("jupyter-")
        out: list[str] = []
        for name, cls in cli_commands().items():
            title = f"{prog} {name}"
            out += [title, "-" * len(title), "", ".. code-block:: text", "",
                    f"   {title} [options]", ""]
            out += [textwrap.dedent(_first_line_rest(cls.description)), ""]
            options = self._options(cls)
            if options:
                out += [".. list-table::", "   :header-rows: 1", "   :widths: 30 70", "",
                        "   * - Option", "     - Meaning"]
                for opt, meaning in options:
                    out += [f"   * - ``{opt}``", f"     - {meaning}"]
                out.append("")
        if not out:
            raise RuntimeError(f"{dotted(app)} has no subcommands")
        return out

    def _options(self, cls: type) -> list[tuple[str, str]]:
        rows = []
        for alias, target in sorted(getattr(cls, "aliases", {}).items()):
            if isinstance(target, tuple):  # (target, help) form
                target, helptext = target
            else:
                helptext = None
            trait = _resolve_trait(cls, target)
            kind = type(trait).__name__
            default = trait.default_value
            meaning = _one_line(helptext or trait.help or "")
            extra = f"Sets ``{target}``."
            if default not in ("", None, [], {}):
                extra += f" Default: ``{default!r}``."
            rows.append((f"--{alias}=<{kind}>", f"{meaning} {extra}".strip()))
        for flag, spec in sorted(getattr(cls, "flags", {}).items()):
            helptext = spec[1] if isinstance(spec, tuple) else ""
            rows.append((f"--{flag}", _one_line(helptext)))
        return rows


def _first_line_rest(text: str) -> str:
    first, _, rest = text.strip().partition("\n")
    return first.strip() + ("\n\n" + textwrap.dedent(rest).strip() if rest.strip() else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _resolve_trait(cls: type, target: str) -> Any:
    """The trait an alias such as ``OpenNotebookApp.db_url`` sets."""
    class_name, _, trait_name = target.rpartition(".")
    candidates = [c for c in cls.__mro__ if c.__name__ == class_name]
    candidates += [c for c in configurables() if c.__name__ == class_name]
    for c in candidates:
        traits = c.class_traits()
        if trait_name in traits:
            return traits[trait_name]
    raise RuntimeError(f"{cls.__name__}: alias target {target} names no known trait")


class AuditEventsDirective(_Generated):
    def lines(self) -> list[str]:
        out: list[str] = []
        for path in event_schema_files():
            schema = yaml.safe_load(path.read_text(encoding="utf-8"))
            kind = path.stem
            title = f"{kind}: {schema.get('title', '')}".rstrip(": ")
            out += [f".. _audit-event-{kind}:", "", title, "-" * len(title), "",
                    f"Schema ``{schema['$id']}``, version {schema.get('version', '?')}; "
                    f"file ``{path.relative_to(package_root().parent).as_posix()}``.", ""]
            out += [*_indent_block(schema.get("description", "").strip(), ""), ""]
            if schema.get("additionalProperties") is False:
                out += ["Fields not listed here are refused (``additionalProperties: false``).",
                        ""]
            required = set(schema.get("required", []))
            out += [".. list-table::", "   :header-rows: 1", "   :widths: 20 25 10 45", "",
                    "   * - Field", "     - Type", "     - Required", "     - Meaning"]
            for field, prop in schema.get("properties", {}).items():
                out += [f"   * - ``{field}``", f"     - {_type_of(prop)}",
                        f"     - {'yes' if field in required else 'no'}",
                        f"     - {_one_line(prop.get('description', ''))}"]
            out.append("")
        return out


def _type_of(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + ", ".join(f"``{v}``" for v in prop["enum"])
    t = prop.get("type", "any")
    types = t if isinstance(t, list) else [t]
    text = " or ".join(f"``{x}``" for x in types)
    if "items" in prop:
        text += " of " + _type_of(prop["items"])
    return text


def _indent_block(text: str, prefix: str) -> list[str]:
    return [prefix + line if line else "" for line in text.splitlines()]


class ModulesDirective(_Generated):
    allow_titles = False

    def lines(self) -> list[str]:
        out = [".. list-table::", "   :header-rows: 1", "   :widths: 35 65", "",
               "   * - Module", "     - What it holds"]
        root = package_root()
        for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).parts):
            rel = path.relative_to(root)
            if any(part in SKIP_PACKAGES or part.startswith(".") for part in rel.parts):
                continue
            module = ".".join((PACKAGE, *rel.with_suffix("").parts)).removesuffix(".__init__")
            summary = _docstring_summary(path) or "(no docstring)"
            out += [f"   * - ``{module}``", f"     - {summary}"]
        out += ["   * - ``" + _rel(openapi_file()) + "``",
                "     - The OpenAPI description, served at ``openapi.json`` and rendered in "
                ":doc:`/reference/rest-api`"]
        for path in event_schema_files():
            out += [f"   * - ``{_rel(path)}``",
                    "     - An audit event schema, rendered in :doc:`/reference/audit-events`"]
        return [*out, ""]


def _rel(path: Path) -> str:
    return path.relative_to(package_root().parent).as_posix()


def _docstring_summary(path: Path) -> str:
    """First line of a module's docstring, read without importing the module."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    if not doc:
        return ""
    line = doc.strip().splitlines()[0]
    # One line of reStructuredText in a table cell: keep literals, drop roles.
    return line.replace("|", "\\|")


def _openapi_directive() -> type:
    from sphinxcontrib.openapi import directive, renderers

    base = directive.create_directive_from_renderer(renderers.HttpdomainRenderer)

    class OpenAPIDirective(base):  # type: ignore[misc, valid-type]
        """``openapi`` on the package's own ``openapi.yaml`` (no path argument)."""

        required_arguments = 0

        def run(self) -> list[nodes.Node]:
            # The openapi directive reads a path relative to the source directory
            # when it starts with "/".
            spec = os.path.relpath(openapi_file(), self.env.srcdir)
            self.arguments = ["/" + Path(spec).as_posix()]
            return super().run()

    return OpenAPIDirective


def _no_configurable_signature(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                               signature: str | None, return_annotation: str | None,
                               ) -> tuple[str, str | None] | None:
    """A configurable's signature is traitlets' ``(*args: t.Any, **kwargs: t.Any)``,
    which says nothing (and whose ``t.Any`` cannot be resolved): show none."""
    from traitlets import MetaHasTraits

    if what in ("class", "configurable") and isinstance(obj, MetaHasTraits):
        return "", None
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-signature", _no_configurable_signature)
    app.add_directive("open-notebook-configurables", ConfigurablesDirective)
    app.add_directive("open-notebook-cli", CliDirective)
    app.add_directive("open-notebook-audit-events", AuditEventsDirective)
    app.add_directive("open-notebook-openapi", _openapi_directive())
    app.add_directive("open-notebook-modules", ModulesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
