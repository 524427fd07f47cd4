"""Generates the Python stubs (messages, `.pyi`, gRPC) from `protos/`.

The committed stubs are what this writes; `tests/test_codegen.py` regenerates
into a temporary directory and fails when they differ.
"""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = PROJECT_ROOT / "protos"


def _include_dirs() -> list[str]:
    # google/protobuf/*.proto ship with grpcio-tools, google/api/*.proto with
    # googleapis-common-protos (site-packages/google/api).
    import google.api

    grpc_tools_protos = importlib.resources.files("grpc_tools") / "_proto"
    googleapis_root = Path(next(iter(google.api.__path__))).parent.parent
    return [str(PROTO_ROOT), str(grpc_tools_protos), str(googleapis_root)]


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Writes the stubs under `out_dir` (the project root for the real ones)."""
    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)
    relative = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = ["grpc_tools.protoc", *(f"-I{d}" for d in _include_dirs())]
    args += [f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}"]
    if protoc.main([*args, *relative]) != 0:
        raise RuntimeError("protoc failed; see the messages above")
    written: list[Path] = []
    for rel in relative:
        package_dir = out_dir / Path(rel).parent
        # Every directory on the way down is a regular package.
        for parent in [package_dir, *package_dir.relative_to(out_dir).parents]:
            init = out_dir / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text("")
        written.extend(sorted(package_dir.glob(f"{Path(rel).stem}_pb2*.py*")))
    return written


def generated_files(root: Path) -> dict[str, bytes]:
    """The generated stubs under `root`, by path relative to it."""
    found: dict[str, bytes] = {}
    for proto in proto_files():
        rel_dir = proto.relative_to(PROTO_ROOT).parent
        for path in sorted((root / rel_dir).glob(f"{proto.stem}_pb2*.py*")):
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def main() -> int:
    written = generate(PROJECT_ROOT)
    for path in written:
        print(path.relative_to(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
