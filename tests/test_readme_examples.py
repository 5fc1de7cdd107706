"""Every Python example of the README and the docs runs as written, so a renamed argument
breaks a test, not a user.

The examples name the real model (``GOTEngine()``, ``GOTPDFLoader("paper.pdf")``...). Here
``stepfun-ai/GOT-OCR-2.0-hf`` is a tiny checkpoint placed in a Hugging Face cache of the
test's own, read offline: the examples take exactly the path the real weights take. It is
rewired to end every output at once, so the examples run in seconds; the files they name are
made in the working directory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from PIL import Image

from got_model.loading import DEFAULT_MODEL_ID
from tests.got_loaders.samples import make_image, make_pdf

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def python_examples(page: Path) -> list[tuple[str, str]]:
    """``(where, code)`` of each ``python`` block of ``page`` (``py`` blocks are fragments)."""
    tokens = MarkdownIt().parse(page.read_text(encoding="utf-8"))
    return [
        (f"{page.relative_to(ROOT)}:{token.map[0] + 1 if token.map else 0}", token.content)
        for token in tokens
        if token.type == "fence" and token.info.strip() == "python"
    ]


EXAMPLES = [example for page in PAGES for example in python_examples(page)]


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face cache holding a tiny ``stepfun-ai/GOT-OCR-2.0-hf`` that writes
    ``<|im_end|>`` first."""
    from got_model import GOTEngine
    from got_model.testing import build_tiny_checkpoint, make_looping

    built = build_tiny_checkpoint(tmp_path_factory.mktemp("kit") / "got-tiny")
    engine = GOTEngine(built, device="cpu")
    engine.load()
    make_looping(engine, [engine._processor.tokenizer.convert_tokens_to_ids("<|im_end|>")])
    cache = tmp_path_factory.mktemp("hub")
    repository = cache / f"models--{DEFAULT_MODEL_ID.replace('/', '--')}"
    snapshot = repository / "snapshots" / ("0" * 40)
    engine._model.save_pretrained(snapshot)
    engine._processor.save_pretrained(snapshot)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text("0" * 40)
    return cache


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_cache: Path) -> Iterator[Path]:
    from huggingface_hub import constants

    from got_model import transformers_backend, vllm_backend

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    for name, document in (("paper.pdf", 0), ("a.pdf", 1), ("b.pdf", 2)):
        (tmp_path / name).write_bytes(make_pdf(document, 2))
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "receipt.jpg").write_bytes(make_image("JPEG", 3))
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "one.pdf").write_bytes(make_pdf(4, 1))
    (tmp_path / "papers" / "two.png").write_bytes(make_image("PNG", 5))
    page = io.BytesIO()
    Image.new("RGB", (1000, 700), "white").save(page, format="PNG")
    (tmp_path / "page.png").write_bytes(page.getvalue())
    Image.new("RGB", (2400, 600), "white").save(tmp_path / "poster.png")
    for name, document in (("report.pdf", 6), ("scan.pdf", 7)):
        (tmp_path / name).write_bytes(make_pdf(document, 1))
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "memo.pdf").write_bytes(make_pdf(8, 1))
    shared = [transformers_backend._process_engines, vllm_backend._process_engines]
    before = [dict(engines) for engines in shared]
    yield tmp_path
    # The process's shared engines now hold the tiny model under the real model's name: gone.
    for engines, kept in zip(shared, before, strict=True):
        for key in [key for key in engines if key not in kept]:
            engines.pop(key).unload()


def test_the_readme_has_examples_for_every_way_in() -> None:
    code = "\n".join(text for _, text in python_examples(README))
    for name in ("GOTPDFLoader", "GOTReader", "partition_got", "GOTEngine", "VLLMEngine"):
        assert name in code


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_an_example_runs(workdir: Path, where: str, code: str) -> None:
    namespace: dict[str, object] = {"__name__": "example"}
    exec(compile(code, where, "exec"), namespace)


def test_fragments_are_few_and_marked() -> None:
    """Examples that cannot run here (a GPU, vLLM, a Ray cluster, an event loop, an LLM, or an
    option listing) are marked ``py``; the rest are ``python`` and run above."""
    fragments = sum(
        token.type == "fence" and token.info.strip() == "py"
        for page in PAGES
        for token in MarkdownIt().parse(page.read_text(encoding="utf-8"))
    )
    assert len(EXAMPLES) > fragments
