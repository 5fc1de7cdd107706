"""got_loaders.ray on a local Ray instance: two CPU actors reading with the tiny checkpoint."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from got_loaders.pipeline import PagePipeline
from got_loaders.ray import PAGE_COLUMNS, read_documents
from got_model import FORMATTED, GOTEngine
from tests.conftest import noise_image
from tests.got_loaders.samples import FakeEngine, make_pdf
from tests.got_loaders.test_frameworks_tiny import read_alone
from tests.got_loaders.test_langchain_tiny import noise_pdf
from tests.got_loaders.text_pdfs import born_digital, make_text_pdf, scanned

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    import ray.data

    # Four logical CPUs on this 2-core machine: two for the actors, the rest for the render
    # tasks (with only two, the actors would hold both and the renders could never run).
    # The workers import this repository's tests package, for FakeEngine.
    root = str(Path(__file__).resolve().parents[2])
    ray.init(
        num_cpus=4,
        num_gpus=0,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": root}},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    files = {
        "three.pdf": noise_pdf(3),
        "mixed.pdf": make_text_pdf([born_digital, scanned]),
        "notes.txt": b"neither a PDF nor an image",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    noise_image(7, size=(200, 100)).save(tmp_path / "photo.png")
    paths = {name: tmp_path / name for name in [*files, "photo.png"]}
    paths["missing.pdf"] = tmp_path / "missing.pdf"
    return paths


def _rows(dataset: Any) -> dict[tuple[str, int], dict[str, Any]]:
    rows = dataset.take_all()
    keys = Counter((Path(row["source"]).name, row["page_number"]) for row in rows)
    assert max(keys.values()) == 1, f"a page arrived twice: {keys}"
    return {(Path(row["source"]).name, row["page_number"]): row for row in rows}


def test_every_page_arrives_once_with_its_metadata_and_failures_are_rows(
    local_ray: None, tiny_engine: GOTEngine, tiny_checkpoint: str, inputs: dict[str, Path]
) -> None:
    dataset = read_documents(
        [str(path) for path in inputs.values()], engine=tiny_engine, strategy="auto", actors=2
    )
    rows = _rows(dataset)
    assert sorted(rows) == [
        ("missing.pdf", 0),
        ("mixed.pdf", 1),
        ("mixed.pdf", 2),
        ("notes.txt", 0),
        ("photo.png", 1),
        ("three.pdf", 1),
        ("three.pdf", 2),
        ("three.pdf", 3),
    ]
    assert all(list(row) == list(PAGE_COLUMNS) for row in rows.values())
    assert "No such file" in rows["missing.pdf", 0]["error"]
    assert "Neither a PDF nor an image" in rows["notes.txt", 0]["error"]
    pages = {key: row for key, row in rows.items() if key[1]}
    assert all(row["error"] == "" for row in pages.values())
    models = {key: row["ocr_model"] for key, row in rows.items()}
    assert models == {key: tiny_checkpoint if rows[key]["route"] == "ocr" else "" for key in rows}
    assert [rows["three.pdf", n]["total_pages"] for n in (1, 2, 3)] == [3, 3, 3]
    assert rows["three.pdf", 2]["page"] == 1
    assert rows["three.pdf", 2]["page_label"] == "2"
    assert (rows["mixed.pdf", 1]["route"], rows["mixed.pdf", 2]["route"]) == ("text", "ocr")
    # Each page holds what the engine reads on it alone, or its text layer as the loaders give.
    for name, index in [("three.pdf", 0), ("three.pdf", 1), ("three.pdf", 2), ("photo.png", 0)]:
        alone = read_alone(tiny_engine, inputs[name], index)
        row = rows[name, index + 1]
        assert row["text"] == alone.markdown
        assert row["ocr_generated_tokens"] == alone.generated_tokens
        assert row["route"] == "ocr"
    text_page = next(
        PagePipeline(tiny_engine, FORMATTED, strategy="auto").run([inputs["mixed.pdf"]])
    )
    assert rows["mixed.pdf", 1]["text"] == text_page.converted.markdown
    no_model = {"ocr_model": "", "ocr_task": "", "ocr_finish_reason": "", "ocr_generated_tokens": 0}
    for key in [("mixed.pdf", 1), ("missing.pdf", 0), ("notes.txt", 0)]:  # no model read these
        assert {name: rows[key][name] for name in no_model} == no_model
    assert rows["mixed.pdf", 2]["ocr_finish_reason"] in {"stop", "length", "repetition"}
    assert len({row["text"] for row in pages.values()}) == len(pages)  # a mix-up would show


def test_a_failing_page_is_a_row_with_its_error_and_costs_no_other(
    local_ray: None, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(0, 3))
    engine = FakeEngine(fail_on=[(0, 1)])  # the model fails on page 2, in any batch
    rows = _rows(read_documents([str(path)], engine=engine, batch_size=3))
    assert sorted(rows) == [("report.pdf", 1), ("report.pdf", 2), ("report.pdf", 3)]
    assert rows["report.pdf", 2]["error"].startswith(f"{path}, page 2: OCR failed")
    assert rows["report.pdf", 2]["text"] == ""
    # Given to the model, which finished nothing.
    assert (rows["report.pdf", 2]["ocr_model"], rows["report.pdf", 2]["ocr_finish_reason"]) == (
        "fake/got",
        "",
    )
    for number in (1, 3):
        assert rows["report.pdf", number]["error"] == ""
        assert f"Document 0 page {number - 1}" in rows["report.pdf", number]["text"]


def test_a_model_that_cannot_load_stops_the_run_with_its_error(
    local_ray: None, inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Not a page's fault: every page would fail alike, so the run stops and says why."""
    broken = GOTEngine(str(tmp_path / "no-such-model"), device="cpu", local_files_only=True)
    with pytest.raises(Exception, match="no-such-model"):
        read_documents([str(inputs["mixed.pdf"])], engine=broken, strategy="auto").take_all()


def test_the_result_cache_is_reused_and_bytes_datasets_read_the_same(
    local_ray: None, tiny_engine: GOTEngine, inputs: dict[str, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    paths = [str(inputs["three.pdf"]), str(inputs["photo.png"])]
    first = _rows(read_documents(paths, engine=tiny_engine, actors=2, cache=cache))
    assert not any(row["cached"] for row in first.values())
    as_bytes = ray.data.read_binary_files(paths, include_paths=True)
    second = _rows(read_documents(as_bytes, engine=tiny_engine, actors=2, cache=cache))
    assert sorted(second) == sorted(first)
    assert all(row["cached"] for row in second.values())
    for key, row in second.items():
        assert row["text"] == first[key]["text"]
        assert row["total_pages"] == first[key]["total_pages"]


def test_arguments_are_checked_before_anything_runs(local_ray: None) -> None:
    with pytest.raises(ValueError, match="actors"):
        read_documents(["a.pdf"], actors=0)
    with pytest.raises(ValueError, match="strategy"):
        read_documents(["a.pdf"], strategy="fast")
    with pytest.raises(ValueError, match="'path' or a 'bytes' column"):
        read_documents(ray.data.from_items([{"name": "a.pdf"}]))


def test_got_ocr_convert_ray_writes_one_row_per_page(
    local_ray: None,
    tiny_checkpoint: str,
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import pyarrow.parquet as pq

    from got_loaders import cli

    settings = ["--model", tiny_checkpoint, "--device", "cpu", "--max-new-tokens", "24"]
    settings.append("--no-cache")
    out = tmp_path / "rows"
    paths = [str(inputs["three.pdf"]), str(inputs["mixed.pdf"]), str(inputs["notes.txt"])]
    status = cli.main(
        [
            "convert",
            *paths,
            "--ray",
            "-o",
            str(out),
            "--actors",
            "2",
            "--strategy",
            "auto",
            *settings,
        ]
    )
    assert status == cli.EXIT_FAILED  # notes.txt is no document; the rest is written
    table = pq.read_table(out).to_pylist()
    pages = sorted((Path(r["source"]).name, r["page_number"]) for r in table if not r["error"])
    assert pages == [("mixed.pdf", 1), ("mixed.pdf", 2), *[("three.pdf", n) for n in (1, 2, 3)]]
    assert [Path(r["source"]).name for r in table if r["error"]] == ["notes.txt"]
    printed = capsys.readouterr().err
    assert "notes.txt: Neither a PDF nor an image" in printed
    assert "5 pages in" in printed
    assert "1 from the text layer; 1 error" in printed

    jsonl = tmp_path / "jsonl"
    status = cli.main(
        ["convert", str(inputs["three.pdf"]), "--ray", "-o", str(jsonl), "-f", "jsonl", *settings]
    )
    assert status == cli.EXIT_OK
    lines = [json.loads(line) for f in sorted(jsonl.glob("*.json*")) for line in f.open()]
    assert sorted(row["page_number"] for row in lines) == [1, 2, 3]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give -o/--output-dir"),
        (["-o", "out", "-f", "markdown"], "one row per page"),
        (["-o", "out", "--skip-existing"], "does not apply to --ray"),
        (["-o", "out", "--actors", "0"], "--actors must be at least 1"),
    ],
)
def test_got_ocr_convert_ray_checks_its_arguments(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from got_loaders import cli

    with pytest.raises(SystemExit) as stopped:
        cli.main(["convert", "a.pdf", "--ray", *extra])
    assert stopped.value.code == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_parquet_needs_ray(capsys: pytest.CaptureFixture[str]) -> None:
    from got_loaders import cli

    with pytest.raises(SystemExit):
        cli.main(["convert", "a.pdf", "-f", "parquet"])
    assert "-f parquet needs --ray" in capsys.readouterr().err


def test_got_ocr_ray_refuses_what_it_cannot_honour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from got_loaders import cli

    full = tmp_path / "full"
    full.mkdir()
    (full / "old.parquet").write_bytes(b"")
    for extra, message in [
        (["-o", str(full)], "is not empty"),
        (["-o", str(tmp_path / "new"), "--on-error", "raise"], "does not apply to --ray"),
    ]:
        with pytest.raises(SystemExit):
            cli.main(["convert", "a.pdf", "--ray", *extra])
        assert message in capsys.readouterr().err


def test_got_ocr_ray_before_the_inputs_takes_no_input_for_an_address(tmp_path: Path) -> None:
    from got_loaders import cli
    from got_loaders.cli import convert as cli_convert

    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    for path in (first, second):
        path.write_bytes(make_pdf(0, 1))
    parser = cli.build_parser()
    args = parser.parse_args(["convert", "--ray", str(first), str(second), "-o", "out"])
    cli_convert.check_ray_arguments(args, parser)
    assert args.inputs == [str(first), str(second)]
    assert args.ray == ""


def test_got_ocr_ray_says_when_ray_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from got_loaders import cli

    (tmp_path / "a.pdf").write_bytes(make_pdf(0, 1))

    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("Invalid address format: nowhere")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    status = cli.main(
        ["convert", str(tmp_path / "a.pdf"), "--ray=nowhere", "-o", str(tmp_path / "out")]
    )
    assert status == cli.EXIT_FAILED
    assert "cannot start or reach Ray at nowhere: Invalid address" in capsys.readouterr().err


def test_actors_that_would_hold_every_cpu_are_warned_of(
    local_ray: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="got_loaders"):
        read_documents(["a.pdf"], engine=FakeEngine(), actors=4)  # 4 CPUs: none left to render
    assert "the render tasks need at least one more" in caplog.text


def test_actors_can_read_on_a_got_server_instead_of_loading_the_model(
    local_ray: None, tiny_checkpoint: str, tmp_path: Path
) -> None:
    from got_model import ServerEngine
    from tests.got_model.fake_server import FakeServer

    fake = FakeServer(tiny_checkpoint).start()
    engine = ServerEngine(fake.url, retries=0)
    try:
        paths = []
        for shade in (30, 60, 90):
            path = tmp_path / f"shade{shade}.png"
            Image.new("RGB", (80, 60), (shade, 1, 2)).save(path)
            paths.append(str(path))
        rows = _rows(read_documents(paths, engine=engine, task="plain", actors=2))
        assert {name: row["text"].strip() for (name, _), row in rows.items()} == {
            f"shade{shade}.png": f"page {shade} 1 2" for shade in (30, 60, 90)
        }
        assert {row["ocr_model"] for row in rows.values()} == {"got-fake"}
        assert len(fake.bodies) == 3  # every page went to the server
    finally:
        engine.unload()
        fake.stop()
