"""The import contract (DESIGN.md, Layout): dependencies point one way,

    anbi.core  <-  donors  <-  fundraising  <-  subsidies  <-  exports  <-  the edges

where the edges are the `anbi` command (anbi.cli), the HTTP service (anbi.web), the
demo (anbi.demo) and the list of every model (anbi.models). A module may import its
own layer and the layers below it, never one above: no domain module imports the CLI
or the web application, and `exports` (the outside world's formats) is the last
domain layer. Among the edges the order is the same: the demo drives the web service
(it posts webhooks and makes users), the command wires in both, and the web service
imports neither.

Every import counts, at module level or inside a function (a function-level import is
an upward dependency all the same, only later), and so does `importlib.import_module`
with a constant name. The check reads every module's syntax tree; it imports nothing.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("anbi", "donors", "fundraising", "subsidies", "exports")

# (module prefix, layer): the longest prefix that names a module decides its layer.
LAYERS: tuple[tuple[str, int], ...] = (
    ("anbi.core", 0),
    ("anbi.context", 0),   # what a command runs with: settings, engine, actor (kernel only)
    ("donors", 1),
    ("fundraising", 2),
    ("subsidies", 3),
    ("exports", 4),
    ("anbi.web", 5),
    ("anbi.demo", 6),
    ("anbi.models", 7),
    ("anbi.cli", 7),
)
LAYER_NAMES: dict[int | None, str] = {0: "anbi.core", 1: "donors", 2: "fundraising", 3: "subsidies", 4: "exports",
               5: "anbi.web", 6: "anbi.demo", 7: "anbi.cli / anbi.models"}


def layer_of(module: str) -> int | None:
    """The layer of a project module, or None for a module from outside (sqlalchemy, ...)."""
    if module == "anbi":  # the package itself: its __init__ says only what it is
        return 0
    best: tuple[str, int] | None = None
    for prefix, layer in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return None if best is None else best[1]


@dataclass(frozen=True)
class Import:
    module: str      # the importing module
    target: str      # what it imports
    line: int
    in_function: bool

    def __str__(self) -> str:
        where = " (inside a function)" if self.in_function else ""
        return (f"{self.module} (line {self.line}) imports {self.target}{where}: "
                f"{LAYER_NAMES[layer_of(self.module)]} may not depend on {LAYER_NAMES[layer_of(self.target)]}")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module: str, source: str, *, is_package: bool = False) -> list[Import]:
    """Every import in `source`, at any depth, with relative imports resolved."""
    tree = ast.parse(source)
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend(Import(module, alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(module, child, is_package)
                # `from x import y` may name a module x.y or a name in x: x.y is the stricter reading.
                found.extend(Import(module, f"{base}.{alias.name}" if alias.name != "*" else base, child.lineno,
                                    in_function) for alias in child.names)
            elif isinstance(child, ast.Call) and _is_import_call(child):
                name = child.args[0]
                assert isinstance(name, ast.Constant) and isinstance(name.value, str)  # _is_import_call checked it
                found.append(Import(module, name.value, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return found


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_import_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return (name in ("import_module", "__import__") and len(node.args) >= 1
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))


def upward(item: Import) -> bool:
    source, target = layer_of(item.module), layer_of(item.target)
    return source is not None and target is not None and target > source


def project_modules(root: Path = ROOT):
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            yield module_name(path, root), path


def violations(root: Path = ROOT) -> list[Import]:
    found = []
    for module, path in project_modules(root):
        for item in imports_of(module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py"):
            if upward(item):
                found.append(item)
    return found


def test_dependencies_point_one_way():
    found = violations()
    assert not found, "upward imports (DESIGN.md, Layout):\n" + "\n".join(map(str, found))


# Where subsidies writes costs, hours and payments. `exports` reads subsidies and writes
# none of its rows: Odoo's grant costs are written by subsidies.ledger_costs, through a
# port that exports.odoo.costs fills.
SUBSIDIES_WRITERS = ("subsidies.costs", "subsidies.payments")


def test_exports_writes_no_subsidies_rows():
    found = [f"{item.module} (line {item.line}) imports {item.target}"
             for module, path in project_modules() if layer_of(module) == 4
             for item in imports_of(module, path.read_text(encoding="utf-8"))
             if any(item.target == writer or item.target.startswith(writer + ".") for writer in SUBSIDIES_WRITERS)]
    assert found == []


def test_every_module_has_a_layer():
    """A new top-level module of `anbi` is placed in a layer here before it is used."""
    assert [module for module, _ in project_modules() if layer_of(module) is None] == []


@pytest.mark.parametrize("module, source", [
    ("donors.service", "from anbi.cli import print_json\n"),
    ("fundraising.donations", "def f():\n    from exports.statements.pdf import render_statement\n"),
    ("fundraising.bank.booking", "import subsidies.models\n"),
    ("subsidies.grants", "from exports import odoo\n"),
    ("exports.odoo.sync", "def f():\n    import anbi.web.app\n"),
    ("anbi.core.db", "from donors.models import Donor\n"),
    ("fundraising.stripe.webhook", "import importlib\nimportlib.import_module('anbi.web.app')\n"),
    ("anbi.web.api", "from anbi.cli import cli\n"),
    ("subsidies.costs", "from ..exports import tabular\n"),
])
def test_an_upward_import_is_caught(module, source):
    items = imports_of(module, source)
    assert any(upward(item) for item in items), items


@pytest.mark.parametrize("module, source", [
    ("exports.statements.issue", "from fundraising.statements.rules import decide\n"),
    ("fundraising.bank.booking", "from donors.models import Donor\nfrom anbi.core import audit\n"),
    ("anbi.cli", "def f():\n    from anbi.web.commands import serve\n"),
    ("anbi.demo.stripe_webhooks", "from anbi.web.app import create_app\n"),
    ("subsidies.ledger_costs", "import sqlalchemy\n"),
])
def test_a_downward_import_is_allowed(module, source):
    assert [item for item in imports_of(module, source) if upward(item)] == []
