"""The layers of pyproject.toml's import-linter contract are the map of the code (README,
"Layers"); `lint-imports` in bin/test forbids every upward import. These tests keep the map
whole: every module sits in a layer, the parts have no import cycle, and imports written inside
functions (which dodge a cycle instead of removing it) stay the few a library needs."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agency", "tenants", "campaigns", "approvals")
# Configuration and schema history: read by Django, imported by no layer.
OUTSIDE_LAYERS = ("agency.settings", ".migrations")
# The parts the issue named as one knot, and the base; none may reach another in a cycle.
PARTS = ("agency.portal", "agency.webhooks", "agency.demo", "agency.api", "campaigns.publishing",
         "campaigns.results", "campaigns.conversations", "approvals", "campaigns", "tenants")
MOST_DEFERRED = 8


def _layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [[name.strip() for name in layer.replace("|", ":").split(":")]
            for layer in contract["layers"]]


def _modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                continue  # a package: its modules are what sit in layers
            found.append(".".join(parts))
    return sorted(found)


def test_every_module_sits_in_a_layer():
    named = [name for layer in _layers() for name in layer]
    homeless = [module for module in _modules()
                if not any(part in module for part in OUTSIDE_LAYERS)
                and not any(module == n or module.startswith(n + ".") for n in named)]
    assert homeless == [], ("Put each new module in its layer in pyproject.toml "
                            f"([tool.importlinter]): {homeless}")


def test_no_module_is_in_two_layers():
    named = [name for layer in _layers() for name in layer]
    clashes = [(a, b) for a in named for b in named
               if a != b and (b.startswith(a + ".") or a == b)]
    assert clashes == []


def _studio() -> list[str]:
    """The campaign screens and endpoints: in the campaigns package, a layer above publishing."""
    (layer,) = [layer for layer in _layers() if "campaigns.views" in layer]
    return layer


def _part(module: str) -> str | None:
    if any(module == name or module.startswith(name + ".") for name in _studio()):
        return "campaigns (studio)"
    for part in PARTS:  # most specific first
        if module == part or module.startswith(part + "."):
            return part
    return None


def test_parts_have_no_import_cycle():
    graph = grimp.build_graph(*PACKAGES)  # imports inside functions count too
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if ".migrations" in module:
            continue
        source = _part(module)
        for imported in graph.find_modules_directly_imported_by(module):
            target = _part(imported)
            if source and target and source != target and ".migrations" not in imported:
                edges.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(part for part in [*PARTS, "campaigns (studio)"]
                    if reaches(part, part, {part}))
    assert cycles == [], f"These parts reach themselves through others' imports: {cycles}"
    assert not edges.get("tenants", set()) - {"agency"}, "the base imports nothing above it"


def _deferred_imports() -> list[tuple[str, int, str]]:
    """Imports of the project's own modules written inside a function: (file, line, reason)."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for sub in ast.walk(node):
                    module = (sub.module or "") if isinstance(sub, ast.ImportFrom) else (
                        sub.names[0].name if isinstance(sub, ast.Import) else None)
                    if module is None:
                        continue
                    own = (getattr(sub, "level", 0) > 0
                           or module.split(".")[0] in PACKAGES)
                    if own:
                        above = lines[sub.lineno - 2].strip()
                        reason = above[len("# Deferred:"):].strip() if above.startswith(
                            "# Deferred:") else ""
                        found.append((str(path.relative_to(ROOT)), sub.lineno, reason))
    return found


def test_imports_inside_functions_are_the_few_a_library_needs():
    deferred = _deferred_imports()
    unexplained = [f"{path}:{line}" for path, line, reason in deferred if not reason]
    assert unexplained == [], (
        "Import at the module's top; where a library needs the import inside a function "
        "(Django's AppConfig.ready, Wagtail's settings read while its models load), say so on "
        f"the line above: '# Deferred: <reason>'. Unexplained: {unexplained}")
    assert len(deferred) <= MOST_DEFERRED, deferred


def test_tests_make_campaigns_with_the_factories():
    """Set-up reads like the behaviour: campaigns come from tests/factories.py (CampaignFactory,
    submit, pass_sensitivity_review, approve), not from pages assembled by hand in each module."""
    by_hand = [str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py")
               if path.name != "factories.py"
               and "add_child(instance=" + "CampaignPage" in path.read_text()]
    assert by_hand == [], f"Make these campaigns with CampaignFactory: {by_hand}"
