"""Importing the packages is free: no torch, no transformers, no framework, no output."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from got_loaders import import_extra
from got_model import MissingExtraError

HEAVY = (
    "torch",
    "transformers",
    "langchain_core",
    "llama_index",
    "unstructured",
    "numpy",
    "pylatexenc",
    "markdown_it",
    "pymupdf",
    "fitz",
    "langchain_community",
    "ray",
    "pyarrow",
    "pandas",
)


def run_python(
    code: str, *, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=check,
    )


@pytest.mark.parametrize("package", ["got_model", "got_loaders"])
def test_import_pulls_in_nothing_heavy_and_prints_nothing(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(heavy, end='')\n"
    )
    done = run_python(code)
    assert done.stdout == "[]"
    assert done.stderr == ""


def test_langchain_adapter_imports_only_langchain_core() -> None:
    code = (
        "import sys, got_loaders.langchain\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'langchain_community', 'pymupdf'))\n"
        "print(heavy, end='')\n"
    )
    done = run_python(code)
    assert (done.stdout, done.stderr) == ("[]", "")


def test_the_ray_module_imports_ray_only_when_a_pipeline_is_built() -> None:
    code = (
        "import sys, got_loaders.ray\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(heavy, end='')\n"
    )
    assert run_python(code).stdout == "[]"


def test_read_documents_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from got_loaders.ray import read_documents

    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(MissingExtraError, match=r"got-loaders\[ray\]"):
        read_documents(["a.pdf"])


@pytest.mark.parametrize(
    ("module", "framework", "others"),
    [
        ("llamaindex", "llama_index", ("langchain_core", "unstructured")),
        ("unstructured", "unstructured", ("langchain_core", "llama_index")),
    ],
)
def test_each_adapter_imports_its_framework_and_nothing_else(
    module: str, framework: str, others: tuple[str, ...]
) -> None:
    code = (
        f"import sys, got_loaders.{module}\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{('torch', 'transformers', 'pymupdf', *others)!r})\n"
        "auto = 'unstructured.partition.auto' in sys.modules\n"
        f"print(heavy, auto, {framework!r} in sys.modules, end='')\n"
    )
    done = run_python(code)
    assert done.stdout == "[] False True"
    assert done.stderr == ""


def test_star_import_and_dir_load_no_framework() -> None:
    code = (
        "import sys\n"
        "from got_loaders import *\n"
        "import got_loaders\n"
        "names = dir(got_loaders)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('langchain_core', 'llama_index', 'unstructured', 'torch'))\n"
        "print(heavy, 'GOTReader' in names, 'partition_got' in names, "
        "hasattr(got_loaders, 'NoSuchThing'), end='')\n"
    )
    done = run_python(code)
    assert (done.stdout, done.stderr) == ("[] True True False", "")


def test_importing_the_unstructured_adapter_opens_no_connection_when_opted_out() -> None:
    # Unstructured itself pings its analytics server on import unless DO_NOT_TRACK or
    # SCARF_NO_ANALYTICS is set (see docs/unstructured.md); nothing of ours may reach the network.
    code = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise SystemExit('network: ' + repr(args))\n"
        "socket.socket.connect = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "import got_loaders.unstructured\n"
        "print('ok', end='')\n"
    )
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    done = run_python(code, env=env, check=False)
    assert (done.returncode, done.stdout) == (0, "ok"), done.stderr


def test_adapter_names_resolve_lazily_from_the_package() -> None:
    import got_loaders
    from got_loaders import langchain, llamaindex, unstructured

    assert got_loaders.GOTPDFLoader is langchain.GOTPDFLoader
    assert got_loaders.GOTImageBlobParser is langchain.GOTImageBlobParser
    assert got_loaders.GOTReader is llamaindex.GOTReader
    assert got_loaders.partition_got is unstructured.partition_got
    assert got_loaders.register_got_partitioner is unstructured.register_got_partitioner
    with pytest.raises(AttributeError, match="NoSuchLoader"):
        _ = got_loaders.NoSuchLoader  # type: ignore[attr-defined]


def test_langchain_adapter_without_langchain_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_core", None)
    monkeypatch.delitem(sys.modules, "got_loaders.langchain", raising=False)
    with pytest.raises(MissingExtraError, match=r"got-loaders\[langchain\]"):
        import got_loaders.langchain  # noqa: F401


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("llamaindex", "llama_index.core", "llamaindex"),
        ("unstructured", "unstructured", "unstructured"),
    ],
)
def test_other_adapters_without_their_framework_name_the_extra(
    module: str, blocked: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)
    monkeypatch.delitem(sys.modules, f"got_loaders.{module}", raising=False)
    with pytest.raises(MissingExtraError, match=rf"got-loaders\[{extra}\]"):
        importlib.import_module(f"got_loaders.{module}")


def test_missing_extra_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_core", None)  # makes the import fail
    with pytest.raises(ImportError, match=r'pip install "got-loaders\[langchain\]"') as info:
        import_extra("langchain_core", "GOTPDFLoader")
    assert isinstance(info.value, MissingExtraError)
    assert info.value.extra == "langchain"


def test_submodules_map_to_their_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_index.core", None)
    with pytest.raises(MissingExtraError, match=r"got-loaders\[llamaindex\]"):
        import_extra("llama_index.core", "GOTReader")


def test_installed_extra_imports() -> None:
    assert import_extra("json", "a test").dumps([]) == "[]"


def test_the_page_sources_import_nothing_downstream_and_no_circle() -> None:
    """got_loaders.sources is the first stage of file -> pages -> engine -> framework objects:
    its modules import each other without a circle, and nothing of the pipeline, the engines,
    the adapters or the command line."""
    import ast
    import graphlib
    from pathlib import Path

    import got_loaders.sources

    folder = Path(got_loaders.sources.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 1:
                    local.add(module)
                else:
                    assert node.level == 0, f"{path.name} imports from a parent package"
                    if module.startswith("got_loaders"):
                        allowed = module == "got_loaders.errors" or module.startswith(
                            "got_loaders.sources"
                        )
                        assert allowed, f"{path.name} imports {module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("got_loaders"), path.name
        graph[path.stem] = local
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a circle
    assert graph["pages"].isdisjoint({"pdf", "images", "dispatch"})
