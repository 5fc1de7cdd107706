"""got-ocr: inputs, outputs, failures, resuming and the result cache, with a fake engine."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from got_loaders import cli
from got_loaders.cli import convert as cli_convert
from got_loaders.cli import engine as cli_engine
from got_model import FORMATTED, PLAIN, FinishReason, ModelLoadError, OCRResult, OCRTask
from tests.got_loaders.samples import FakeEngine, make_image, make_pdf

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """The fake engine every ``got-ocr`` run in this test uses, with the settings it got."""
    fake = FakeEngine()
    fake.settings = {}  # type: ignore[attr-defined]

    def shared_engine(model: str, **settings: object) -> FakeEngine:
        fake.settings = {"model": model, **settings}  # type: ignore[attr-defined]
        return fake

    monkeypatch.setattr(cli_engine, "shared_engine", shared_engine)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # what a quiet run sets
    return fake


def run(*argv: str | Path) -> int:
    return cli.main([str(arg) for arg in argv])


def page_markdown(engine: FakeEngine, doc: int, page: int, task: OCRTask = FORMATTED) -> str:
    result = OCRResult(engine.text(doc, page), FinishReason.STOP, 1, 0.0, task)
    return result.markdown


def ocr_calls(engine: FakeEngine) -> int:
    return sum(len(batch) for batch in engine.batches)


def test_a_directory_converts_recursively_to_a_mirrored_tree(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    (mixed_dir / "deeper").mkdir()
    (mixed_dir / "deeper" / "e.PDF").write_bytes(make_pdf(4, 1))  # suffixes match in any case
    out = tmp_path / "out"
    assert run("convert", mixed_dir, "-o", out, "--no-cache") == cli.EXIT_OK
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["a.md", "b.md", "c.md", "d.md", "deeper/e.md"]  # notes.txt is no input
    expected_c = "\n\n".join(page_markdown(engine, 2, page) for page in range(3)) + "\n"
    assert (out / "c.md").read_text() == expected_c
    assert (out / "deeper" / "e.md").read_text() == page_markdown(engine, 4, 0) + "\n"
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "5 documents, 8 pages" in captured.err
    assert "\r" not in captured.err  # no progress bar when stderr is not a terminal


def test_batches_fill_across_files_with_the_engine_settings(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    argv = ["convert", mixed_dir, "-o", tmp_path / "out", "--no-cache", "--batch-size", "3"]
    argv += ["--model", "some/model", "--revision", "v2", "--device", "cpu", "--dtype", "float32"]
    assert run(*argv, "--max-new-tokens", "77") == cli.EXIT_OK
    assert [len(batch) for batch in engine.batches] == [3, 3, 1]  # 7 pages in 4 files
    assert engine.settings == {  # type: ignore[attr-defined]
        "model": "some/model",
        "revision": "v2",
        "device": "cpu",
        "dtype": "float32",
        "batch_size": 3,
        "max_new_tokens": 77,
        "compile": False,
    }


def test_compile_and_the_sort_window_reach_the_engine_and_the_pipeline(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["convert", mixed_dir, "-o", tmp_path / "out", "--no-cache", "--batch-size", "2"]
    assert run(*argv, "--compile", "--sort-window", "0") == cli.EXIT_OK
    assert engine.settings["compile"] is True  # type: ignore[attr-defined]
    reading_order = [page for batch in engine.batches for page in batch]
    assert [len(batch) for batch in engine.batches] == [2, 2, 2, 1]
    assert reading_order == sorted(reading_order)  # files a-e, pages in order
    with pytest.raises(SystemExit):
        run(*argv, "--sort-window", "-1")
    assert "--sort-window must be at least 0" in capsys.readouterr().err


def test_page_markers_carry_numbers_and_labels(tmp_path: Path, engine: FakeEngine) -> None:
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(make_pdf(0, 3, labels="A-"))  # page labels A-i, A-ii, A-iii
    assert run("convert", pdf, "-o", tmp_path / "out", "--page-markers", "--no-cache") == 0
    text = (tmp_path / "out" / "book.md").read_text()
    assert text.startswith('<!-- page 1 label="A-i" -->\n\n' + page_markdown(engine, 0, 0))
    assert '<!-- page 3 label="A-iii" -->' in text
    assert text.count("<!-- page ") == 3


def test_jsonl_has_one_line_per_page_with_its_metadata(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    argv = ["convert", pdf_path, "-o", tmp_path / "out", "-f", "jsonl", "--no-cache"]
    assert run(*argv, "--content", "text", "--pages", "2-3") == 0
    lines = (tmp_path / "out" / "report.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["metadata"]["page_number"] for r in records] == [2, 3]
    assert {r["metadata"]["source"] for r in records} == {str(pdf_path)}
    assert records[0]["metadata"]["title"] == "Quarterly report"
    assert records[0]["metadata"]["ocr_model"] == "fake/got"
    assert records[0]["text"].startswith("Document 0 page 1")  # text: no "##"


def test_standard_output_when_no_directory_is_given(
    mixed_dir: Path, pdf_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("convert", pdf_path, "--no-cache") == 0
    single = capsys.readouterr().out
    assert single == "\n\n".join(page_markdown(engine, 0, p) for p in range(3)) + "\n"
    assert run("convert", mixed_dir / "a.pdf", mixed_dir / "b.png", "--no-cache") == 0
    several = capsys.readouterr().out
    assert several.index(f"<!-- source: {mixed_dir / 'a.pdf'} -->") == 0
    assert f"<!-- source: {mixed_dir / 'b.png'} -->" in several
    assert run("convert", mixed_dir / "a.pdf", "-f", "jsonl", "--no-cache") == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_standard_input(
    tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(make_image("PNG", 5)))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert run("convert", "-", "-o", tmp_path / "out", "--no-cache") == 0
    assert (tmp_path / "out" / "stdin.md").read_text() == page_markdown(engine, 5, 0) + "\n"


def test_a_bad_file_is_reported_and_the_rest_converted(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    (mixed_dir / "broken.pdf").write_bytes(b"%PDF-1.7 but nothing else")
    out = tmp_path / "out"
    missing = tmp_path / "missing.pdf"
    assert run("convert", mixed_dir, missing, "-o", out, "--no-cache") == cli.EXIT_FAILED
    assert sorted(p.name for p in out.iterdir()) == ["a.md", "b.md", "c.md", "d.md"]
    err = capsys.readouterr().err
    assert f"{mixed_dir / 'broken.pdf'}: Cannot open the PDF" in err
    assert f"{missing}: no such file or directory" in err
    assert "2 errors" in err


def test_a_failing_page_loses_only_that_page(
    pdf_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    failing = FakeEngine(fail_on=[(0, 1)])
    monkeypatch.setattr(cli_engine, "shared_engine", lambda *a, **k: failing)
    argv = ["convert", pdf_path, "-o", tmp_path / "out", "--page-markers", "--cache"]
    assert run(*argv, tmp_path / "c.sqlite3") == cli.EXIT_FAILED
    text = (tmp_path / "out" / "report.md").read_text()
    assert "<!-- page 1 -->" in text
    assert "<!-- page 3 -->" in text
    assert "<!-- page 2 -->" not in text
    assert f"{pdf_path}, page 2: OCR failed" in capsys.readouterr().err
    # The failed page was not cached: a rerun with a working engine reads only that page.
    healthy = FakeEngine()
    monkeypatch.setattr(cli_engine, "shared_engine", lambda *a, **k: healthy)
    assert run(*argv, tmp_path / "c.sqlite3") == cli.EXIT_OK
    assert healthy.batches == [[(0, 1)]]
    assert "<!-- page 2 -->" in (tmp_path / "out" / "report.md").read_text()


def test_skip_existing_resumes_without_touching_finished_outputs(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.md").write_text("done before")
    assert run("convert", mixed_dir, "-o", out, "--skip-existing", "--no-cache") == 0
    assert (out / "a.md").read_text() == "done before"
    assert (0, 0) not in {page for batch in engine.batches for page in batch}
    assert ocr_calls(engine) == 5  # b, c (3 pages), d
    assert "1 skipped (output exists)" in capsys.readouterr().err
    assert not list(out.glob(".*.part"))  # outputs are written whole or not at all


def test_skip_existing_needs_an_output_directory(pdf_path: Path, engine: FakeEngine) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("convert", pdf_path, "--skip-existing")
    assert exit_info.value.code == cli.EXIT_USAGE


def test_colliding_outputs_are_refused_before_any_work(
    tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "scan.pdf").write_bytes(make_pdf(0, 1))
    with pytest.raises(SystemExit) as exit_info:
        run("convert", tmp_path / "x" / "scan.pdf", tmp_path / "y" / "scan.pdf", "-o", tmp_path)
    assert exit_info.value.code == cli.EXIT_USAGE
    assert "would all be written to scan.pdf.*" in capsys.readouterr().err
    assert engine.batches == []


def test_glob_selects_files_in_directories(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    assert run("convert", mixed_dir, "--glob", "*.pdf", "-o", tmp_path / "o", "--no-cache") == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.md", "c.md"]


@pytest.mark.parametrize(
    ("options", "described"),
    [
        (["--task", "plain"], "plain"),
        (["--multi-crop", "--max-patches", "4"], "formatted+crop:4"),
        (["--color", "red"], "formatted+color:red"),
        (["--box", "0,0,100,50"], "formatted+box"),
    ],
)
def test_task_options(
    pdf_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str], options, described
) -> None:
    assert run("convert", pdf_path, "-f", "jsonl", "--no-cache", "--pages", "1", *options) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["metadata"]["ocr_task"] == described


@pytest.mark.parametrize(
    "options",
    [
        ["--box", "1,2,3"],
        ["--box", "a,b,c,d"],
        ["--box", "0,0,1,1", "--multi-crop"],
        ["--pages", "0"],
    ],
)
def test_bad_options_are_usage_errors(pdf_path: Path, engine: FakeEngine, options) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("convert", pdf_path, *options)
    assert exit_info.value.code == cli.EXIT_USAGE
    assert engine.batches == []


def test_the_cache_makes_a_rerun_skip_the_engine(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache.sqlite3"
    assert run("convert", mixed_dir, "-o", tmp_path / "one", "--cache", cache) == 0
    assert ocr_calls(engine) == 7
    capsys.readouterr()
    assert run("convert", mixed_dir, "-o", tmp_path / "two", "--cache", cache) == 0
    assert ocr_calls(engine) == 7  # nothing new
    assert "7 from the cache" in capsys.readouterr().err
    for first in (tmp_path / "one").iterdir():
        assert (tmp_path / "two" / first.name).read_text() == first.read_text()
    # A different task is a different result.
    argv = ["convert", mixed_dir, "-o", tmp_path / "p", "--cache", cache, "--task", "plain"]
    assert run(*argv) == 0
    assert ocr_calls(engine) == 14


def test_no_cache_reads_and_writes_no_cache(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_convert, "ResultCache", None)  # any use of a cache would raise
    assert run("convert", pdf_path, "-o", tmp_path / "out", "--no-cache") == 0
    assert ocr_calls(engine) == 3


def test_the_default_cache_lives_in_the_user_cache_directory(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform != "linux":
        pytest.skip("XDG_CACHE_HOME is where platformdirs looks on Linux only")
    assert run("convert", pdf_path, "-o", tmp_path / "out") == 0
    assert (tmp_path / "xdg" / "got-loaders" / "results.sqlite3").is_file()


def test_cache_info_and_clear(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "c.sqlite3"
    assert run("cache", "info", "--cache", cache) == 0
    assert "no cache file yet" in capsys.readouterr().out
    assert not cache.exists()  # looking creates nothing
    assert run("convert", pdf_path, "-o", tmp_path / "out", "--cache", cache) == 0
    capsys.readouterr()
    assert run("cache", "info", "--cache", cache) == 0
    info = capsys.readouterr().out
    assert f"path:     {cache}" in info
    assert "entries:  3" in info
    assert "model:    fake/got (3)" in info
    assert run("cache", "clear", "--cache", cache) == 0
    assert "Deleted 3 cached results" in capsys.readouterr().out
    assert run("cache", "info", "--cache", cache) == 0
    assert "entries:  0" in capsys.readouterr().out


def test_a_broken_cache_file_is_a_clear_error(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "c.sqlite3"
    cache.write_bytes(b"this is not a database, it is a text file" * 100)
    assert run("cache", "info", "--cache", cache) == cli.EXIT_FAILED
    assert f"The result cache {cache} is not a usable SQLite database" in capsys.readouterr().err


def test_progress_bar_when_asked(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("convert", pdf_path, "-o", tmp_path / "out", "--no-cache", "--progress") == 0
    err = capsys.readouterr().err
    assert "page/s" in err
    assert "3/3" in err  # the total was counted, so the bar has an ETA
    assert run("convert", pdf_path, "-o", tmp_path / "o2", "--no-cache", "-q") == 0
    assert capsys.readouterr().err == ""


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["convert", "--help"])
    text = capsys.readouterr().out
    convert = next(
        action
        for action in parser._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
        if action.prog.endswith("convert")
    )
    for action in convert._actions:
        for flag in action.option_strings:
            assert flag in text
        assert action.help, f"{action.dest} has no help"
    for word in ("INPUT", "standard input", "exit status"):
        assert word in text


def test_the_console_script_is_declared() -> None:
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("got-ocr") == "got_loaders.cli:main"


_SLOW_RUN = textwrap.dedent(
    """
    import signal
    import sys
    from got_loaders import cli
    from got_loaders.cli import engine as cli_engine

    # A background job (CI under nohup, say) starts with Ctrl-C ignored; a user's shell not.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from tests.got_loaders.samples import FakeEngine

    engine = FakeEngine(delay=0.2)
    cli_engine.shared_engine = lambda *args, **kwargs: engine
    sys.exit(cli.main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("stop", [signal.SIGKILL], ids=["kill"])
def test_a_killed_run_resumes_from_its_outputs_and_cache(tmp_path: Path, stop: int) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for doc in range(6):
        (folder / f"doc{doc}.pdf").write_bytes(make_pdf(doc, 3))
    out, cache = tmp_path / "out", tmp_path / "c.sqlite3"
    argv = [sys.executable, "-c", _SLOW_RUN, "convert", str(folder), "-o", str(out)]
    argv += ["--cache", str(cache), "--batch-size", "2", "--skip-existing"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.monotonic() + 120
    while not (out.exists() and any(out.glob("*.md"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(stop)
    status = child.wait(timeout=60)
    assert child.stderr is not None
    stderr = child.stderr.read().decode()
    if stop == signal.SIGINT:  # Ctrl-C: a clean stop that says what is kept
        assert status == cli.EXIT_INTERRUPTED
        assert "interrupted; results already written and cached are kept" in stderr
    else:
        assert status == -signal.SIGKILL
    written = {path.name for path in out.glob("*.md")}
    assert 0 < len(written) < 6, "the run should be killed half way"
    for path in out.glob("*.md"):  # whole files only
        assert path.read_text().count("## Document") == 3
    with sqlite3.connect(cache) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        cached = connection.execute("SELECT COUNT(*) FROM got_ocr_results").fetchone()[0]
    assert cached >= 3 * len(written)

    resumed = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert {path.name for path in out.glob("*.md")} == {f"doc{doc}.md" for doc in range(6)}
    assert f"{len(written)} skipped (output exists)" in resumed.stderr
    # Nothing cached is read again: the unfinished documents' cached pages are hits.
    hits = cached - 3 * len(written)
    if hits:
        assert f"{hits} from the cache" in resumed.stderr
    else:
        assert "from the cache" not in resumed.stderr
    for doc in range(6):
        text = (out / f"doc{doc}.md").read_text()
        assert [line for line in text.splitlines() if line.startswith("##")] == [
            f"## Document {doc} page {page}" for page in range(3)
        ]
    assert not list(out.glob(".*.part"))


def test_plain_task_markdown_is_escaped_text(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    assert run("convert", pdf_path, "-o", tmp_path / "o", "--no-cache", "--task", "plain") == 0
    expected = "\n\n".join(page_markdown(engine, 0, p, PLAIN) for p in range(3)) + "\n"
    assert (tmp_path / "o" / "report.md").read_text() == expected


def test_a_closed_standard_output_stops_quietly(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for doc in range(4):
        (folder / f"doc{doc}.pdf").write_bytes(make_pdf(doc, 2))
    argv = [sys.executable, "-c", _SLOW_RUN, "convert", str(folder)]  # 0.2 s a batch
    argv += ["--no-cache", "-f", "jsonl", "--batch-size", "1"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stderr is not None
    first = json.loads(child.stdout.readline())  # like `| head -1`, while 7 pages are to come
    child.stdout.close()
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == cli.EXIT_FAILED
    assert first["metadata"]["page_number"] == 1
    assert "Traceback" not in stderr


def test_same_named_files_in_one_directory_keep_their_suffix(
    tmp_path: Path, engine: FakeEngine
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(make_pdf(0, 1))
    (folder / "scan.png").write_bytes(make_image("PNG", 1))
    (folder / "other.png").write_bytes(make_image("PNG", 2))
    assert run("convert", folder, "-o", tmp_path / "out", "--no-cache") == 0
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["other.md", "scan.pdf.md", "scan.png.md"]
    assert (tmp_path / "out" / "scan.png.md").read_text() == page_markdown(engine, 1, 0) + "\n"


@pytest.mark.skipif(sys.platform != "linux", reason="Linux file names are bytes")
def test_file_names_that_are_not_utf8_convert_to_valid_utf8(
    tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(b"bad\xff.png")
    (folder / odd).write_bytes(make_image("PNG", 0))
    (folder / "ok.png").write_bytes(make_image("PNG", 1))
    (folder / os.fsdecode(b"caf\xe9.pdf")).write_bytes(make_pdf(2, 2))  # MuPDF wants UTF-8
    out = tmp_path / "out"
    assert run("convert", folder, "-o", out, "-f", "jsonl", "--no-cache") == cli.EXIT_OK
    output = out / (os.fsdecode(b"bad\xff") + ".jsonl")
    record = json.loads(output.read_bytes().decode("utf-8"))
    assert record["metadata"]["source"].endswith("bad\udcff.png")  # escaped, and back
    assert (out / "ok.jsonl").exists()
    pdf_pages = (out / (os.fsdecode(b"caf\xe9") + ".jsonl")).read_text().splitlines()
    assert [json.loads(line)["metadata"]["page_number"] for line in pdf_pages] == [1, 2]
    assert run("convert", folder / odd, folder / "ok.png", "--no-cache") == 0
    assert "bad\\udcff.png -->" in capsys.readouterr().out


def test_a_long_file_name_is_written(tmp_path: Path, engine: FakeEngine) -> None:
    source = tmp_path / ("x" * 240 + ".png")
    source.write_bytes(make_image("PNG", 0))
    assert run("convert", source, "-o", tmp_path / "out", "--no-cache") == 0
    assert (tmp_path / "out" / ("x" * 240 + ".md")).exists()


@pytest.mark.parametrize("pattern", ["/tmp/*.pdf", "../*.pdf", ""])
def test_globs_stay_inside_the_directory(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine, pattern: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("convert", mixed_dir, "--glob", pattern, "-o", tmp_path / "out")
    assert exit_info.value.code == cli.EXIT_USAGE
    assert not (tmp_path / "out").exists()


def test_output_directory_that_is_a_file_is_a_usage_error(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    (tmp_path / "out").write_text("a file")
    with pytest.raises(SystemExit) as exit_info:
        run("convert", pdf_path, "-o", tmp_path / "out")
    assert exit_info.value.code == cli.EXIT_USAGE
    assert engine.batches == []


def test_an_unusable_cache_stops_before_any_work(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dir.sqlite3").mkdir()
    assert run("convert", pdf_path, "--cache", tmp_path / "dir.sqlite3") == cli.EXIT_FAILED
    assert "Cannot open the result cache" in capsys.readouterr().err
    assert engine.batches == []


def test_a_model_that_cannot_load_stops_the_run_once(
    mixed_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Unloadable(FakeEngine):
        def recognize_batch(self, requests):  # type: ignore[no-untyped-def]
            self.batches.append([])
            raise ModelLoadError("Cannot load the GOT model 'm' (device 'cuda'): no CUDA")

    unloadable = Unloadable()
    monkeypatch.setattr(cli_engine, "shared_engine", lambda *a, **k: unloadable)
    assert run("convert", mixed_dir, "-o", tmp_path / "out", "--no-cache") == cli.EXIT_FAILED
    assert len(unloadable.batches) == 1  # not once per page
    assert "got-ocr: error: Cannot load the GOT model 'm'" in capsys.readouterr().err


def test_bad_dtype_is_a_usage_error(pdf_path: Path, engine: FakeEngine) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("convert", pdf_path, "--dtype", "int8")
    assert exit_info.value.code == cli.EXIT_USAGE


def test_a_pipe_is_read_once(tmp_path: Path, engine: FakeEngine) -> None:
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = make_image("PNG", 3)

    def feed() -> None:
        with fifo.open("wb") as writer:
            writer.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    assert run("convert", fifo, "-o", tmp_path / "out", "--no-cache") == 0
    feeder.join(timeout=30)
    assert (tmp_path / "out" / "pipe.md").read_text() == page_markdown(engine, 3, 0) + "\n"


def test_closed_standard_input_is_reported(
    pdf_path: Path,
    tmp_path: Path,
    engine: FakeEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    assert run("convert", "-", pdf_path, "-o", tmp_path / "out", "--no-cache") == 1
    assert "there is no standard input" in capsys.readouterr().err
    assert (tmp_path / "out" / "report.md").exists()


def test_documents_read_in_full_are_written_when_the_model_fails_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first document comes from the cache; the model fails to load on the second."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(make_pdf(0, 2))
    (folder / "b.pdf").write_bytes(make_pdf(1, 2))
    cache = tmp_path / "c.sqlite3"
    warm = FakeEngine()
    monkeypatch.setattr(cli_engine, "shared_engine", lambda *a, **k: warm)
    assert run("convert", folder / "a.pdf", "--cache", cache, "-q") == 0
    capsys.readouterr()

    def unloadable(requests: object) -> None:
        raise ModelLoadError("no CUDA")

    broken = FakeEngine()  # the same class and model id: the same cache keys
    broken.recognize_batch = unloadable  # type: ignore[assignment,method-assign]
    monkeypatch.setattr(cli_engine, "shared_engine", lambda *a, **k: broken)
    out = tmp_path / "out"
    assert run("convert", folder, "-o", out, "--cache", cache) == cli.EXIT_FAILED
    assert sorted(path.name for path in out.iterdir()) == ["a.md"]
    assert "got-ocr: error: no CUDA" in capsys.readouterr().err


def test_a_device_is_refused_not_read(
    pdf_path: Path, tmp_path: Path, engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    assert run("convert", "/dev/zero", pdf_path, "-o", tmp_path / "out", "--no-cache") == 1
    assert "/dev/zero: not a file, a directory or a pipe" in capsys.readouterr().err
    assert (tmp_path / "out" / "report.md").exists()


def test_same_stem_names_settle_even_when_a_full_name_clashes(
    tmp_path: Path, engine: FakeEngine
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, doc in (("a.pdf", 0), ("a.png", 1), ("a.pdf.png", 2)):
        data = make_pdf(doc, 1) if name.endswith(".pdf") else make_image("PNG", doc)
        (folder / name).write_bytes(data)
    assert run("convert", folder, "-o", tmp_path / "out", "--no-cache") == 0
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["a.pdf.md", "a.pdf.png.md", "a.png.md"]
    assert (tmp_path / "out" / "a.pdf.png.md").read_text() == page_markdown(engine, 2, 0) + "\n"


def test_short_dtype_names_are_accepted(pdf_path: Path, engine: FakeEngine) -> None:
    assert run("convert", pdf_path, "--dtype", "bf16", "--no-cache", "-q") == 0
    assert engine.settings["dtype"] == "bf16"  # type: ignore[attr-defined]


def test_standard_input_from_a_device_is_refused(
    pdf_path: Path,
    tmp_path: Path,
    engine: FakeEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    with open("/dev/zero", "rb") as device:  # `< /dev/zero` would never end
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(device))
        assert run("convert", "-", pdf_path, "-o", tmp_path / "out", "--no-cache") == 1
    assert "standard input is not a file or a pipe" in capsys.readouterr().err


class _InterruptedOnce(io.StringIO):
    """Standard output whose first flush is interrupted (Ctrl-C while writing)."""

    interrupted = False

    def flush(self) -> None:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        super().flush()


def test_an_interrupted_write_is_not_written_again(
    mixed_dir: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = _InterruptedOnce()
    monkeypatch.setattr(sys, "stdout", stdout)
    assert run("convert", mixed_dir, "--no-cache", "-q") == cli.EXIT_INTERRUPTED
    assert stdout.getvalue().count(f"<!-- source: {mixed_dir / 'a.pdf'} -->") == 1


def test_a_document_with_a_skipped_page_is_written_when_the_model_fails_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(make_pdf(0, 3))
    (folder / "b.pdf").write_bytes(make_pdf(1, 2))
    engine = FakeEngine(fail_on=[(0, 1)])
    recognize = engine.recognize_batch

    def dies_on_b(requests):  # type: ignore[no-untyped-def]
        if any(page == (1, 0) for page in map(read_colour_of, requests)):
            raise ModelLoadError("the GPU fell off the bus")
        return recognize(requests)

    engine.recognize_batch = dies_on_b  # type: ignore[method-assign]
    monkeypatch.setattr(cli_engine, "shared_engine", lambda *a, **k: engine)
    out = tmp_path / "out"
    argv = ["convert", folder, "-o", out, "--no-cache", "--batch-size", "1", "--page-markers"]
    assert run(*argv) == cli.EXIT_FAILED
    assert sorted(path.name for path in out.iterdir()) == ["a.md"]
    text = (out / "a.md").read_text()
    assert "<!-- page 1 -->" in text
    assert "<!-- page 2 -->" not in text  # the skipped page
    assert "<!-- page 3 -->" in text


def read_colour_of(request: object) -> tuple[int, int]:
    from tests.got_loaders.samples import read_colour

    return read_colour(request.images[0])  # type: ignore[attr-defined]


def test_backend_vllm_builds_a_vllm_engine_with_the_settings(
    mixed_dir: Path, tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[tuple[object, object]] = []

    def process_vllm_engine(load: object, settings: object) -> FakeEngine:
        built.append((load, settings))
        return engine

    monkeypatch.setattr(cli_engine, "process_vllm_engine", process_vllm_engine)
    argv = ["convert", mixed_dir, "-o", tmp_path / "out", "--no-cache", "--backend", "vllm"]
    argv += ["--model", "some/model", "--revision", "v2", "--dtype", "bf16"]
    argv += ["--max-new-tokens", "77", "--gpu-memory-utilization", "0.5", "--enforce-eager"]
    assert run(*argv) == cli.EXIT_OK
    [(load, settings)] = built
    assert (load.model, load.revision, load.dtype) == ("some/model", "v2", "bfloat16")  # type: ignore[attr-defined]
    assert settings.max_new_tokens == 77  # type: ignore[attr-defined]
    assert settings.gpu_memory_utilization == 0.5  # type: ignore[attr-defined]
    assert settings.enforce_eager is True  # type: ignore[attr-defined]
    assert settings.batch_size == 64  # type: ignore[attr-defined]  # vLLM's own default
    assert engine.settings == {}  # type: ignore[attr-defined]  # no transformers engine built
    assert (tmp_path / "out" / "c.md").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--backend", "vllm", "--device", "cuda"], "--device is for --backend transformers"),
        (["--backend", "vllm", "--compile"], "--compile is for --backend transformers"),
        (["--enforce-eager"], "--enforce-eager needs --backend vllm"),
        (["--gpu-memory-utilization", "0.5"], "--gpu-memory-utilization needs --backend vllm"),
        (["--backend", "vllm", "--gpu-memory-utilization", "1.5"], "must be more than 0"),
    ],
)
def test_backend_options_that_do_not_fit_are_refused(
    mixed_dir: Path,
    tmp_path: Path,
    engine: FakeEngine,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    with pytest.raises(SystemExit):
        run("convert", mixed_dir, "-o", tmp_path / "out", "--no-cache", *flags)
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
