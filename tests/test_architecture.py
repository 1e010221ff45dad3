"""The layering PRODUCT.md fixes: protocols depends on nothing of ours; edge and cloud
meet only in protocols; firmware_sim is hardware and knows neither edge nor cloud."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"protocols", "edge", "cloud", "firmware_sim", "rfidwms", "dashboards"}
ALLOWED = {
    "protocols": set(),
    "edge": {"protocols"},
    "cloud": {"protocols", "dashboards"},  # the cloud serves the pages
    "firmware_sim": {"protocols"},
}


def imported_packages(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in OURS and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_layer_imports_only_what_it_may(package):
    wrong = {k: v for k, v in imported_packages(package).items() if k not in ALLOWED[package]}
    assert not wrong, f"{package} must not import {sorted(wrong)}: {wrong}"


def test_the_command_line_package_holds_no_domain_logic():
    modules = sorted(p.name for p in (ROOT / "rfidwms").rglob("*.py"))
    assert set(modules) <= {
        "__init__.py",
        "__main__.py",
        "cli.py",
        "embedded.py",
        "broker.py",
        "cloud.py",
        "demo.py",
        "demo_sites.py",  # which warehouses rfidwms demo runs: layouts, ports, truth, faults
        "edge.py",
        "epc.py",
        "sim.py",
        "score.py",
        "users.py",  # rfidwms users: calls cloud.db.users
        "kpis.py",  # rfidwms kpis: prints GET /api/kpis
        "argtypes.py",  # command-line value types the sub-commands share
        # rfidwms/scoring/: the scorer of scored runs (truth against the API), a tool
        "inputs.py",
        "figures.py",
        "warehouse.py",  # the scorer's warehouse figures (WMS pallets, alerts vs the truth)
        "variances.py",  # the scorer's cycle count figures (count variances vs the shrinkage)
    }


def test_the_warehouse_domain_imports_only_the_standard_library_protocols_and_itself():
    """cloud/warehouse is pure: no database, web or broker client, nothing else of cloud."""
    import sys

    wrong: dict[str, str] = {}
    for path in (ROOT / "cloud" / "warehouse").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                ours = name == "cloud.warehouse" or name.startswith("cloud.warehouse.")
                if not (ours or top == "protocols" or top in sys.stdlib_module_names):
                    wrong[name] = str(path.relative_to(ROOT))
    assert (ROOT / "cloud" / "warehouse" / "ledger.py").exists()
    assert not wrong, (
        f"cloud/warehouse must import only the standard library, protocols and itself: {wrong}"
    )
