"""The wheel carries both packages, their type markers and the license, and imports cleanly."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contents_and_clean_install(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("got_loaders-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "got_model/py.typed",
        "got_loaders/py.typed",
        "got_model/testing.py",
        "got_model/markdown/formatted.py",
    } <= names
    assert not any(name.startswith("tests/") for name in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: AGPL-3.0-or-later" in text
    for extra in ("langchain", "llamaindex", "unstructured", "all", "dev", "vllm"):
        assert f"Provides-Extra: {extra}" in text
    assert any(name.endswith("licenses/LICENSE") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "got-ocr = got_loaders.cli:main" in scripts
    # vLLM finds the GOT processor's missing piece through this entry point, in each process.
    assert "[vllm.general_plugins]\ngot_ocr2 = got_model.vllm_plugin:register" in scripts
    assert "got_model/vllm_backend.py" in names

    # A clean environment with only the wheel and Pillow: the public names import without
    # torch, transformers or any framework.
    # No pip inside the venv (ensurepip alone can take minutes on a slow CI machine): the
    # running pip installs into it with --python.
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
            "pillow",
        ],
        check=True,
        timeout=600,
    )
    code = (
        "import got_model, got_loaders\n"
        "from got_model import GOTEngine, OCRTask, FORMATTED, RepetitionGuard\n"
        "from got_loaders import import_extra\n"
        "print(GOTEngine().model_id)\n"
        "from got_model import to_markdown\n"
        "print(to_markdown('\\\\section*{Intro}'), end='')\n"
    )
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.splitlines() == ["stepfun-ai/GOT-OCR-2.0-hf", "## Intro"]
    # The console script is installed and starts without torch or a framework.
    version = subprocess.run(
        [str(venv / "bin" / "got-ocr"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert version.stdout.startswith("got-ocr 0.")
