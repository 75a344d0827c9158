"""The house rules of connector/: imports run downhill between packages, no import cycles, no hidden
function-local imports, one meaning per module name."""
from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.imports import LAYERS, back_arrows, cycles, import_graph, unexplained_local_imports

ROOT = Path(__file__).resolve().parents[1] / "connector"


def test_every_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert packages - set(LAYERS) == set(), "add the new package to LAYERS in tests/support/imports.py"


def test_imports_between_packages_only_run_downhill():
    assert back_arrows(import_graph(ROOT)) == []


def test_no_module_import_cycles():
    assert cycles(import_graph(ROOT)) == []


def test_function_local_imports_of_our_own_modules_say_why():
    assert unexplained_local_imports(ROOT) == []


def test_each_module_name_means_one_thing():
    names: dict[str, list[str]] = {}
    for path in ROOT.rglob("*.py"):
        if path.name != "__init__.py" and "migrations" not in path.parts:
            names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: where for name, where in names.items() if len(where) > 1} == {}


def test_every_package_says_what_lives_there_and_what_it_may_import():
    for init in ROOT.glob("*/__init__.py"):
        doc = init.read_text().lstrip()
        assert doc.startswith('"""') and len(doc.split('"""')[1].strip()) > 20, f"{init} has no docstring"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "connector"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_the_checker_catches_a_back_arrow_and_a_cycle(tmp_path):
    root = _tree(tmp_path, {
        "core/__init__.py": "", "routing/__init__.py": "", "pursuit/__init__.py": "",
        "core/clock.py": "from connector.routing import offers\n",       # core reaching up into a use case
        "routing/offers.py": "from connector.pursuit import schedule\n",  # downhill: fine
        "pursuit/schedule.py": "def f():\n    from connector.routing import offers\n",  # up, and hidden
    })
    graph = import_graph(root)
    assert back_arrows(graph) == [
        "connector.core.clock -> connector.routing.offers (core may not import routing)",
        "connector.pursuit.schedule -> connector.routing.offers (pursuit may not import routing)",
    ]
    assert cycles(graph) == [["connector.pursuit.schedule", "connector.routing.offers"]]
    assert unexplained_local_imports(root) == ["pursuit/schedule.py:2: from connector.routing import offers"]


def test_the_checker_ignores_annotation_only_imports(tmp_path):
    root = _tree(tmp_path, {
        "core/__init__.py": "", "store/__init__.py": "",
        "core/runtime.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from connector.store.db import X\n",
        "store/db.py": "from connector.core import runtime\n",
    })
    assert back_arrows(import_graph(root)) == []
