"""The dependencies: a pinned runtime set (requirements.txt, the same in pyproject.toml, all the
container image installs) and a pinned test and tooling set (requirements-dev.txt) that no
runtime code imports, so the image holds no test tools."""
from __future__ import annotations

import ast
import re
import tomllib

from kernel.config import ROOT

TEST_TOOLS = {"pytest": "pytest", "pytest-timeout": "pytest_timeout", "hypothesis": "hypothesis",
              "schemathesis": "schemathesis", "aiosmtpd": "aiosmtpd", "playwright": "playwright", "ruff": "ruff",
              "kubernetes-validate": "kubernetes_validate"}
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==[0-9][0-9A-Za-z.]*$")


def requirement_lines(name: str) -> list[str]:
    return [line.strip() for line in (ROOT / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def names(lines) -> set[str]:
    return {PIN.match(line).group(1).lower() for line in lines if PIN.match(line)}


def test_every_requirement_is_pinned_and_the_dev_set_builds_on_the_runtime_set():
    runtime = requirement_lines("requirements.txt")
    dev = requirement_lines("requirements-dev.txt")
    assert all(PIN.match(line) for line in runtime), runtime
    assert dev[0] == "-r requirements.txt" and all(PIN.match(line) for line in dev[1:]), dev
    assert set(TEST_TOOLS) <= names(dev[1:])
    assert not names(runtime) & set(TEST_TOOLS)
    assert not names(runtime) & names(dev[1:])


def test_pyproject_declares_the_runtime_set_and_a_build_system():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == requirement_lines("requirements.txt")
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"


def test_the_image_installs_only_the_runtime_set_and_runtime_code_imports_no_test_tool():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    installs = re.findall(r"pip install (.+)", dockerfile)
    assert installs == ["-r requirements.txt"], installs
    assert "requirements-dev" not in dockerfile
    copied = [path for line in re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, re.M) for path in line.split()]
    sources = [path for entry in copied for path in
               ((ROOT / entry).rglob("*.py") if (ROOT / entry).is_dir() else [ROOT / entry]) if path.suffix == ".py"]
    assert any("services/gateway" in str(path) for path in sources)
    tools = set(TEST_TOOLS.values())
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            imported = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for module in imported:
                assert module.split(".")[0] not in tools, f"{path} imports {module}, a test tool"
