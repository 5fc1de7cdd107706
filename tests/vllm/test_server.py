"""``got-ocr serve`` on 127.0.0.1 with the tiny kit, and ``ServerEngine`` reading through it:
every page equals the in-process vLLM backend's, from every way in and from several client
processes at once; a wrong key, no server and a server killed mid-run fail clearly.

The server starts once for the module (about a minute on a CPU); the last test kills it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from got_loaders import cli
from got_loaders.langchain import GOTPDFLoader
from got_loaders.llamaindex import GOTReader
from got_loaders.pipeline import OnError, PagePipeline
from got_loaders.unstructured import partition_got
from got_model import (
    PLAIN,
    OCRRequest,
    OCRTask,
    ResultCache,
    ServerAuthError,
    ServerEngine,
    ServerError,
)
from got_model.vllm_backend import VLLMEngine
from tests.conftest import noise_image
from tests.vllm.conftest import MAX_NEW_TOKENS, VLLM_TESTS

pytestmark = VLLM_TESTS

API_KEY = "test-key"
STARTUP_SECONDS = 600


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """Kill the server and everything it started (vLLM's API and engine processes)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(checkpoint: str, log: Path, port: int | None = None) -> Server:
    port = port or free_port()
    command = [sys.executable, "-m", "got_loaders.cli", "serve", "--model", checkpoint]
    command += ["--dtype", "float32", "--gpu-memory-utilization", "0.1", "--enforce-eager"]
    command += ["--port", str(port), "--api-key", API_KEY]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    url = f"http://127.0.0.1:{port}"
    while f"got-ocr: serving {checkpoint} at {url}" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"got-ocr serve did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.5)
    return Server(process, url, log)


@pytest.fixture(scope="module")
def server(vllm_checkpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(vllm_checkpoint, tmp_path_factory.mktemp("server") / "serve.log")
    yield running
    running.kill()


@pytest.fixture(scope="module")
def client(server: Server) -> ServerEngine:
    return ServerEngine(server.url, api_key=API_KEY, max_new_tokens=MAX_NEW_TOKENS)


def noise_pdf_of(seeds: range) -> bytes:
    """One page of random pixels per seed: the tiny model writes something different each."""
    import pymupdf

    pdf = pymupdf.open()
    for seed in seeds:
        page = pdf.new_page(width=300, height=400)
        picture = io.BytesIO()
        noise_image(seed, size=(60, 80)).save(picture, format="PNG")
        page.insert_image(page.rect, stream=picture.getvalue())
    return bytes(pdf.tobytes())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "three.pdf").write_bytes(noise_pdf_of(range(3)))
    noise_image(7, size=(200, 100)).save(folder / "photo.png")
    return folder


def test_the_server_serves_on_loopback_and_says_where(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/health", timeout=10) as response:
        assert response.status == 200
    assert server.url.startswith("http://127.0.0.1:")
    assert "--server" in server.log.read_text(errors="replace")  # how a client connects


def test_every_task_reads_as_with_the_in_process_backend(
    client: ServerEngine, vllm_engine: VLLMEngine
) -> None:
    page = noise_image(3, size=(120, 90))
    wide = noise_image(4, size=(300, 80))
    requests = [
        OCRRequest((page,)),
        OCRRequest((page,), OCRTask(output="formatted")),
        OCRRequest((page,), OCRTask(box=(10, 5, 80, 60))),
        OCRRequest((page,), OCRTask(color="red", output="formatted")),
        OCRRequest((wide,), OCRTask(crop_to_patches=True, max_patches=6)),
        OCRRequest((page, wide)),  # multi-page
    ]
    got = client.recognize_batch(requests)
    expected = vllm_engine.recognize_batch(requests)
    for one, other in zip(got, expected, strict=True):
        assert (one.text, one.finish_reason, one.generated_tokens, one.task) == (
            other.text,
            other.finish_reason,
            other.generated_tokens,
            other.task,
        )
    assert {result.text for result in got} != {""}


def test_langchain_llamaindex_and_unstructured_read_as_in_process(
    client: ServerEngine, vllm_engine: VLLMEngine, inputs: Path
) -> None:
    pdf, photo = inputs / "three.pdf", inputs / "photo.png"
    got = GOTPDFLoader(pdf, engine=client).load()
    expected = GOTPDFLoader(pdf, engine=vllm_engine).load()
    assert [d.page_content for d in got] == [d.page_content for d in expected]
    assert [d.metadata["page"] for d in got] == [0, 1, 2]
    assert got[0].metadata["ocr_model"] == vllm_engine.model_id  # served under its name
    nodes = GOTReader(engine=client).load_data(pdf)
    assert [n.text for n in nodes] == [n.text for n in GOTReader(engine=vllm_engine).load_data(pdf)]
    elements = partition_got(str(photo), engine=client)
    assert [e.text for e in elements] == [
        e.text for e in partition_got(str(photo), engine=vllm_engine)
    ]
    assert elements


def test_got_ocr_convert_with_server_writes_what_the_vllm_backend_writes(
    server: Server, vllm_engine: VLLMEngine, inputs: Path, tmp_path: Path
) -> None:
    common = [str(inputs), "--max-new-tokens", str(MAX_NEW_TOKENS), "--no-cache", "-q"]
    through = [*common, "--server", server.url, "--api-key", API_KEY, "-o", str(tmp_path / "s")]
    assert cli.main(["convert", *through]) == cli.EXIT_OK
    local = [*common, "--backend", "vllm", "--model", vllm_engine.model_id, "--dtype", "float32"]
    local += ["--gpu-memory-utilization", "0.1", "--enforce-eager", "-o", str(tmp_path / "v")]
    assert cli.main(["convert", *local]) == cli.EXIT_OK
    for name in ("three.md", "photo.md"):
        assert (tmp_path / "s" / name).read_text() == (tmp_path / "v" / name).read_text()


def finished_requests(server: Server) -> float:
    """vLLM's count of requests it finished (its Prometheus metrics)."""
    request = urllib.request.Request(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("vllm:request_success_total")
    )


def test_four_client_processes_read_32_pages_each_once_in_order(
    server: Server, vllm_engine: VLLMEngine, tmp_path: Path
) -> None:
    documents = []
    for number in range(4):
        path = tmp_path / f"doc{number}.pdf"
        path.write_bytes(noise_pdf_of(range(10 * number, 10 * number + 8)))
        documents.append(path)
    before = finished_requests(server)
    command = [sys.executable, "-m", "got_loaders.cli", "convert", "-f", "jsonl", "--no-cache"]
    command += ["--server", server.url, "--max-new-tokens", str(MAX_NEW_TOKENS), "-q"]
    environment = {**os.environ, "GOT_OCR_API_KEY": API_KEY}
    clients = [
        subprocess.Popen(
            [*command, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
        )
        for path in documents
    ]
    outputs = [process.communicate(timeout=600) for process in clients]
    for process, (_, errors) in zip(clients, outputs, strict=True):
        assert process.returncode == 0, errors.decode()
    local = ["convert", *map(str, documents), "-f", "jsonl", "--no-cache", "-q"]
    local += ["--backend", "vllm", "--model", vllm_engine.model_id, "--dtype", "float32"]
    local += ["--max-new-tokens", str(MAX_NEW_TOKENS), "--gpu-memory-utilization", "0.1"]
    assert cli.main([*local, "--enforce-eager", "-o", str(tmp_path / "v")]) == cli.EXIT_OK
    for path, (lines, _) in zip(documents, outputs, strict=True):
        rows = [json.loads(line) for line in lines.decode().splitlines()]
        assert [row["metadata"]["page_number"] for row in rows] == list(range(1, 9))
        assert {row["metadata"]["source"] for row in rows} == {str(path)}
        expected = (tmp_path / "v" / f"{path.stem}.jsonl").read_text().splitlines()
        assert [row["text"] for row in rows] == [json.loads(line)["text"] for line in expected]
    assert finished_requests(server) - before == 32  # each page read once, none twice


def test_a_wrong_api_key_is_a_clear_error(server: Server, inputs: Path) -> None:
    with pytest.raises(ServerAuthError, match="refused the API key"):
        ServerEngine(server.url, api_key="wrong").load()
    result = subprocess.run(
        [sys.executable, "-m", "got_loaders.cli", "convert", str(inputs / "photo.png"),
         "--server", server.url, "--api-key", "wrong", "--no-cache"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == cli.EXIT_FAILED
    assert "refused the API key" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_server_is_one_clear_error_and_exit_1(inputs: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "got_loaders.cli", "convert", str(inputs),
         "--server", f"http://127.0.0.1:{free_port()}", "--no-cache"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == cli.EXIT_FAILED
    assert result.stderr.count("Cannot use the GOT server at http://127.0.0.1:") == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_server_killed_mid_run_keeps_what_was_read_and_the_rerun_reads_the_rest(
    server: Server, vllm_checkpoint: str, vllm_engine: VLLMEngine, tmp_path: Path
) -> None:
    pdf = tmp_path / "twelve.pdf"
    pdf.write_bytes(noise_pdf_of(range(100, 112)))
    cache = ResultCache(tmp_path / "cache.sqlite")
    engine = ServerEngine(
        server.url, api_key=API_KEY, max_new_tokens=MAX_NEW_TOKENS, max_in_flight=1, batch_size=1
    )
    failed: list[int] = []
    causes: list[BaseException | None] = []
    read: dict[int, str] = {}
    pipeline = PagePipeline(engine, PLAIN, batch_size=1, on_error=OnError.SKIP, cache=cache)

    def skipped(error: Exception) -> None:
        failed.append(error.page)  # type: ignore[attr-defined]
        causes.append(error.__cause__)

    for item in pipeline.run([pdf], on_skip=skipped):
        read[item.page.number] = item.result.text
        if len(read) == 3:
            server.kill()
    assert len(read) >= 3
    assert sorted(read) + sorted(failed) == sorted(set(read) | set(failed)) == list(range(1, 13))
    assert failed  # the rest failed, each on its own, typed
    assert all(isinstance(cause, ServerError) for cause in causes)

    restarted = start_server(vllm_checkpoint, tmp_path / "restart.log")
    try:
        again = ServerEngine(restarted.url, api_key=API_KEY, max_new_tokens=MAX_NEW_TOKENS)
        results = list(PagePipeline(again, PLAIN, on_error=OnError.RAISE, cache=cache).run([pdf]))
    finally:
        restarted.kill()
    assert [item.page.number for item in results] == list(range(1, 13))
    assert {item.page.number for item in results if not item.cached} == set(failed)
    assert all(read[item.page.number] == item.result.text for item in results if item.cached)
    expected = PagePipeline(vllm_engine, PLAIN).run([pdf])
    assert [item.result.text for item in results] == [item.result.text for item in expected]
