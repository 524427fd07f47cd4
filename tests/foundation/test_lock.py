"""The locks pin what pyproject.toml asks for, so a fresh install reproduces
the versions the suite was run with (requirements/lock.sh regenerates them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(*, dev: bool) -> list[Requirement]:
    declared = list(project()["dependencies"])
    if dev:
        declared += project()["optional-dependencies"]["dev"]
    return [Requirement(line) for line in declared]


@pytest.mark.parametrize(("lock", "dev"), [("runtime.lock", False), ("dev.lock", True)])
def test_lock_pins_every_declared_dependency_within_its_range(lock: str, dev: bool) -> None:
    pinned = pins(lock)
    for requirement in requirements(dev=dev):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not in {lock}: run requirements/lock.sh"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, outside {requirement}: run requirements/lock.sh"
        )


@pytest.mark.parametrize("lock", ["runtime.lock", "dev.lock", "build.lock", "checkov.lock"])
def test_every_pin_carries_hashes(lock: str) -> None:
    text = (ROOT / "requirements" / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text.split("\n", 2)[-1])
    for block in blocks:
        if PIN.match(block):
            assert "--hash=sha256:" in block, f"{block.splitlines()[0]} has no hash"


def test_runtime_lock_agrees_with_dev_lock() -> None:
    runtime, dev = pins("runtime.lock"), pins("dev.lock")
    differing = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differing, f"the image and CI would run different versions: {differing}"


def test_build_lock_pins_the_build_backend_ci_uses() -> None:
    """The image builds the project with the setuptools CI's editable install used."""
    build, dev = pins("build.lock"), pins("dev.lock")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in build, f"{name} is not in build.lock: run requirements/lock.sh"
        assert requirement.specifier.contains(build[name]) and build[name] == dev.get(name)
