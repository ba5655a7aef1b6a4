"""The arrows between the platform's packages point one way (HOUSE.md, "Rooms and doors"):

- kernel/ imports neither a service nor ops/;
- a service (registration, requests, evaluation, notifications, reporting) imports no other service,
  nor ops/;
- the gateway imports the kernel, its own modules and the services' `api` modules only;
- ops/ may import the services and the kernel.

Every import statement of those packages is read with `ast` (at any depth, relative ones resolved), as
is the literal start of a name given to `importlib.import_module`.
"""
from __future__ import annotations

import ast
from pathlib import Path

from kernel.config import ROOT

SERVICES = ("registration", "requests", "evaluation", "notifications", "reporting", "accounts")
CHECKED = ("kernel", "services", "ops")

def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of everything the file imports; `from a import b` gives `a.b`."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and _called(node) in ("import_module", "__import__"):
            prefix = _literal_start(node.args[0])
            if prefix:
                names.append((node.lineno, prefix))
    return names


def _called(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _literal_start(arg: ast.expr) -> str | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return arg.values[0].value
    return None


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def breaks_the_rule(importer: str, name: str) -> bool:
    """Whether module `importer` may not import `name`."""
    if _within(importer, "ops") or not (_within(name, "services") or _within(name, "ops")):
        return False  # ops may import anything; the standard library, third parties and the kernel are open
    if _within(importer, "kernel") or _within(name, "ops"):
        return True
    room = importer.split(".")[1] if importer.count(".") else None
    if room is None:  # the services package itself
        return False
    target = name.split(".")[1] if name.count(".") and name.split(".")[1] else None
    if room == "gateway":
        return not (target == "gateway" or (target in SERVICES and _within(name, f"services.{target}.api")))
    return target != room


def violations(root: Path) -> list[str]:
    found = []
    for package in CHECKED:
        for path in sorted((root / package).rglob("*.py")):
            importer = module_name(path, root)
            for line, name in imported_names(path, root):
                if breaks_the_rule(importer, name):
                    found.append(f"{path.relative_to(root)}:{line}: {importer} imports {name}")
    return found


def test_the_arrows_point_one_way():
    found = violations(ROOT)
    assert not found, "imports against the arrows:\n" + "\n".join(found)


def test_the_rule_catches_imports_against_the_arrows(tmp_path):
    files = {
        "kernel/config.py": "import services.registration.domain\n",
        "kernel/topology.py": "import importlib\nimportlib.import_module(f'services.{name}.service')\n",
        "kernel/db.py": "from ops import status\n",
        "services/requests/domain.py": "from services.registration.domain import OrgProfile\n",
        "services/notifications/service.py": "from ..requests import domain\n",
        "services/gateway/routes.py": (
            "from services.reporting.report import MAX_YEARS\nfrom services.reporting import api\n"
        ),
        "services/reporting/rebuild.py": "from services.reporting import store\nfrom kernel import db\n",
        "ops/__init__.py": "from services.reporting import rebuild\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    assert violations(tmp_path) == [
        "kernel/config.py:1: kernel.config imports services.registration.domain",
        "kernel/db.py:1: kernel.db imports ops.status",
        "kernel/topology.py:2: kernel.topology imports services.",
        "services/gateway/routes.py:1: services.gateway.routes imports services.reporting.report.MAX_YEARS",
        "services/notifications/service.py:1: services.notifications.service imports "
        "services.requests.domain",
        "services/requests/domain.py:1: services.requests.domain imports "
        "services.registration.domain.OrgProfile",
    ]
