"""The package's layers hold: no import runs from a lower layer up to a higher one, and the
packages import each other without a circle (imports inside functions count too). The root
holds only the package's face, and every module has its test file in the mirrored place."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "catalog_ml"
# Lowest first. A unit may import its own layer and those below, never one above.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "taxonomy"),  # the ground floor: vocabulary every layer speaks
    ("config",),  # the settings
    ("lake",),  # Delta tables, files, the writer lock, the Spark session and bridge, SQL
    ("features", "models"),  # encoders; the ensemble, its members and registry
    ("validation",),  # dumps, where they land, the contract and its gate
    ("reports",),  # figures and pages from tables
    ("training",),  # fitting and evaluating the ensemble
    ("pipeline",),  # the night's steps, training and promotion as jobs
    ("serving", "airflow"),  # the online API; what Airflow runs
    ("deploy", "demo"),  # the local stack; the demo
    ("cli",),
]
# The package root is its face: the command, the settings, the errors and the taxonomy.
ROOT_MODULES = {"__init__", "cli", "config", "errors", "taxonomy"}
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "catalog_ml"


def imports() -> dict[str, set[str]]:
    """Unit -> the units it imports, from every ``import`` in every module."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        source = unit_of(module.removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and node.level == 0 else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("catalog_ml."):
                    edges[source].add(unit_of(name))
    return edges


def test_every_unit_of_the_package_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__")
             or (p.is_dir() and (p / "__init__.py").exists())}
    assert units - set(RANK) == set(), "give the new module a layer in LAYERS"


def test_no_import_runs_up_the_layers():
    upward = sorted((source, target) for source, targets in imports().items()
                    for target in targets
                    if target in RANK and source in RANK and RANK[target] > RANK[source])
    assert upward == []


def test_packages_import_each_other_without_a_circle():
    edges = {s: {t for t in ts if t != s} for s, ts in imports().items()}
    seen: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for target in sorted(edges.get(node, ())):
            assert seen.get(target) != 1, f"import circle: {' -> '.join([*path, target])}"
            if target not in seen:
                visit(target, [*path, target])
        seen[node] = 2

    for start in sorted(edges):
        if start not in seen:
            visit(start, [start])


def test_the_package_root_holds_only_its_face():
    assert {p.stem for p in PACKAGE.glob("*.py")} <= ROOT_MODULES


def modules() -> list[Path]:
    return sorted(p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py")
                  if p.stem != "__init__")


def test_every_module_has_its_test_file_in_the_mirrored_place():
    """``catalog_ml/<package>/<module>.py`` -> ``tests/{unit,integration}/<package>/
    test_<module>.py``; a root module's tests sit at ``tests/unit/test_<module>.py``."""
    missing = [str(module) for module in modules()
               if not any((ROOT / "tests" / kind / module.parent / f"test_{module.name}").exists()
                          for kind in ("unit", "integration"))]
    assert missing == [], "write the mirrored test file of each"


def test_every_test_folder_mirrors_a_package_of_the_code():
    """No test folder without its package (``dags`` mirrors the DAG files)."""
    for kind in ("unit", "integration"):
        for folder in (ROOT / "tests" / kind).iterdir():
            if folder.is_dir() and folder.name != "__pycache__":
                assert (PACKAGE / folder.name).is_dir() or (ROOT / folder.name).is_dir(), folder


def module_imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from a import b`` counts a.b too)."""
    paths = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
             .removesuffix(".__init__"): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = ([node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                       if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                       else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            edges[name].update(t for t in targets if t in paths and t != name)
    return edges


def test_modules_import_each_other_without_a_circle():
    """Finer than the packages: no two modules need each other, even through others."""
    edges = module_imports()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(edges[node]):
            assert target not in path, f"import circle: {' -> '.join([*path, target])}"
            if target not in done:
                visit(target, [*path, target])
        done.add(node)

    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
