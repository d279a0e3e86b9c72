"""Generates the lea.notices.v1 stubs into src/ from ../../proto with grpcio-tools
(which bundles protoc) and mypy-protobuf (the type stubs: `*_pb2.pyi` for the
messages, `*_pb2_grpc.pyi` for the services, sync and grpc.aio). `python
generate.py` rewrites them; `python generate.py --check` fails if the committed
ones differ from what the protos give (CI runs it). Both take the versions in
requirements-dev.txt. google/type/date.proto is not generated:
googleapis-common-protos provides it.
"""
import filecmp
import pathlib
import shutil
import sys
import tempfile

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
PROTO = HERE.parent.parent / "proto"
OUT = HERE / "src"
GENERATED = pathlib.Path("lea", "notices", "v1")


def _plugin(name: str) -> str:
    """mypy-protobuf's protoc plugin: beside this Python (a venv's bin/, even
    when not on PATH), else on PATH."""
    beside = pathlib.Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: pip install -r requirements-dev.txt (mypy-protobuf)")
    return found


def generate(out: pathlib.Path) -> None:
    protos = sorted(str(p.relative_to(PROTO)) for p in (PROTO / GENERATED).glob("*.proto"))
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO}", f"-I{include}",
            f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={out}", f"--grpc_python_out={out}",
            f"--mypy_out=quiet:{out}", f"--mypy_grpc_out=quiet:{out}", *protos]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    for package in (out / "lea", out / "lea" / "notices", out / GENERATED):
        (package / "__init__.py").touch()
    # PEP 561: without it mypy ignores the .pyi files beside the modules.
    (out / "lea" / "py.typed").touch()


def main() -> None:
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            generate(pathlib.Path(tmp))
            fresh = sorted(p.relative_to(tmp) for p in pathlib.Path(tmp).rglob("*") if p.is_file())
            held = sorted(p.relative_to(OUT) for p in (OUT / "lea").rglob("*")
                          if p.is_file() and "__pycache__" not in p.parts)
            stale = [str(p) for p in fresh if not (OUT / p).exists()
                     or not filecmp.cmp(pathlib.Path(tmp) / p, OUT / p, shallow=False)]
            stale += [str(p) for p in held if p not in fresh]
        if stale:
            sys.exit("generated stubs are stale (run clients/python/generate.py): " + ", ".join(stale))
        print(f"generated stubs up to date ({len(fresh)} files)")
        return
    shutil.rmtree(OUT / "lea", ignore_errors=True)
    generate(OUT)


if __name__ == "__main__":
    main()
