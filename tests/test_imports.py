"""Importing the packages is free: no torch, no transformers, no framework, no output."""

from __future__ import annotations

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
)


@pytest.mark.parametrize("package", ["got_model", "got_loaders"])
def test_import_pulls_in_nothing_heavy_and_prints_nothing(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(heavy, end='')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout == "[]"
    assert done.stderr == ""


def test_langchain_adapter_imports_only_langchain_core() -> None:
    code = (
        "import sys, got_loaders.langchain\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'langchain_community', 'pymupdf'))\n"
        "print(heavy, end='')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert (done.stdout, done.stderr) == ("[]", "")


def test_langchain_names_resolve_lazily_from_the_package() -> None:
    import got_loaders
    from got_loaders import langchain

    assert got_loaders.GOTPDFLoader is langchain.GOTPDFLoader
    assert got_loaders.GOTImageBlobParser is langchain.GOTImageBlobParser
    with pytest.raises(AttributeError, match="NoSuchLoader"):
        _ = got_loaders.NoSuchLoader  # type: ignore[attr-defined]


def test_langchain_adapter_without_langchain_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_core", None)
    monkeypatch.delitem(sys.modules, "got_loaders.langchain", raising=False)
    with pytest.raises(MissingExtraError, match=r"got-loaders\[langchain\]"):
        import got_loaders.langchain  # noqa: F401


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
