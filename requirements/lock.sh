#!/usr/bin/env bash
# Regenerates the hash-pinned locks from pyproject.toml. Run it after changing
# a dependency there and commit both files; tests/foundation/test_lock.py fails
# while a lock disagrees with pyproject.toml.
#   runtime.lock  what the image installs (the three processes)
#   build.lock    the build backend the image builds the project with
#   dev.lock      runtime plus the dev extras (CI, tests, tools)
#   checkov.lock  checkov, in a virtualenv of its own (.tools/checkov): it pins
#                 dependencies of its own that would fight the project's
# `--upgrade` moves every pin to the newest release that fits; without it the
# existing pins are kept where they still fit.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
command -v uv >/dev/null 2>&1 || python -m pip install -q "uv==${UV_VERSION}"
common=(--generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --quiet "$@")
uv pip compile pyproject.toml --extra dev "${common[@]}" -o requirements/dev.lock
# The image runs the very versions CI tested: runtime is constrained by dev.
uv pip compile pyproject.toml -c requirements/dev.lock "${common[@]}" -o requirements/runtime.lock
# [build-system] requires, pinned the same way (the Dockerfile installs it).
python - <<'PY' > requirements/build.in
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))
PY
uv pip compile requirements/build.in -c requirements/dev.lock "${common[@]}" -o requirements/build.lock
uv pip compile requirements/checkov.in "${common[@]}" -o requirements/checkov.lock
