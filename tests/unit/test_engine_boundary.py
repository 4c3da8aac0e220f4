"""Tests that engine/client.py is the one module of the package that imports docker-py, requests
or urllib3 (by reading every module's source, imports inside functions included)."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from pathlib import Path

import cdebug_tui

CLIENT_LIBRARIES = {"docker", "requests", "urllib3"}
THE_CLIENT = "cdebug_tui.engine.client"


def _modules() -> list[tuple[str, Path]]:
    found = []
    for info in pkgutil.walk_packages(cdebug_tui.__path__, prefix="cdebug_tui."):
        spec = importlib.util.find_spec(info.name)
        assert spec is not None and spec.origin is not None, info.name
        found.append((info.name, Path(spec.origin)))
    return found


def _imported(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_client_imports_the_engine_libraries() -> None:
    modules = _modules()
    # The walk finds the package's modules, the ones below engine/ and ui/ included.
    names = {name for name, _ in modules}
    assert {THE_CLIENT, "cdebug_tui.engine.session", "cdebug_tui.ui.app"} <= names
    offenders = {
        name: sorted(_imported(path.read_text()) & CLIENT_LIBRARIES)
        for name, path in modules
        if name != THE_CLIENT
    }
    assert {name: libs for name, libs in offenders.items() if libs} == {}
    assert _imported((Path(cdebug_tui.__file__).parent / "engine" / "client.py").read_text()) >= {
        "docker"
    }


def test_the_check_sees_imports_in_functions() -> None:
    """The check reads imports made inside functions too, as the engine's lazy ones are."""
    assert _imported("def f():\n    import docker.errors\n") == {"docker"}
    assert _imported("from requests.exceptions import HTTPError\n") == {"requests"}
