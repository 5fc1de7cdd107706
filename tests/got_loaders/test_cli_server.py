"""``got-ocr serve``'s command line and ``got-ocr convert --server``, without vLLM: the
command it starts, its warnings, and a client run against a stand-in server
(tests/got_model/fake_server.py). tests/vllm/test_server.py runs the real server."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from got_loaders import cli
from got_loaders.cli import serve as serve_command_line
from got_model import server_engine
from got_model.loading import LoadSettings
from got_model.vllm_backend import VLLMSettings
from got_model.vllm_server import ServeSettings, chat_template_path, serve_command
from tests.got_model.fake_server import FakeServer


@pytest.fixture
def server(tiny_checkpoint: str) -> Iterator[FakeServer]:
    fake = FakeServer(tiny_checkpoint).start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _close_engines() -> Iterator[None]:
    """The engines got-ocr made (the process's shared ones) end with each test."""
    yield
    with server_engine._process_engines_lock:
        made = list(server_engine._process_engines.values())
        server_engine._process_engines.clear()
    for engine in made:
        engine.unload()


def _options(command: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for position, word in enumerate(command):
        if word.startswith("--"):
            following = command[position + 1] if position + 1 < len(command) else "--"
            found[word] = None if following.startswith("--") else following
    return found


def test_serve_starts_vllm_for_got_with_the_shipped_template(tiny_checkpoint: str) -> None:
    load = LoadSettings(model="my-got", dtype="float32")
    settings = VLLMSettings(gpu_memory_utilization=0.5, enforce_eager=True)
    where = ServeSettings(port=8111, api_key="secret")
    command = serve_command(load, settings, where, tiny_checkpoint)
    options = _options(command)
    assert command[command.index("-m") + 1] == "vllm.entrypoints.openai.api_server"
    assert options["--model"] == tiny_checkpoint
    assert options["--served-model-name"] == "my-got"  # clients see the name asked for
    assert options["--model-impl"] == "transformers"
    assert options["--chat-template"] == chat_template_path()
    assert os.path.isfile(chat_template_path())
    assert options["--chat-template-content-format"] == "openai"
    assert options["--generation-config"] == "vllm"
    assert json.loads(options["--mm-processor-kwargs"] or "") == {"num_image_tokens": 16}
    assert options["--mm-processor-cache-gb"] == "0"
    assert (options["--host"], options["--port"]) == ("127.0.0.1", "8111")
    assert options["--gpu-memory-utilization"] == "0.5"
    assert "--enforce-eager" in options
    assert "secret" not in command  # the key goes through the environment


def test_the_url_and_loopback() -> None:
    assert ServeSettings().url == "http://127.0.0.1:8000"
    assert ServeSettings(host="0.0.0.0", port=9).url == "http://127.0.0.1:9"
    assert ServeSettings(host="::1").url == "http://[::1]:8000"
    assert ServeSettings(host="localhost").is_loopback
    assert not ServeSettings(host="0.0.0.0").is_loopback
    assert not ServeSettings(host="10.1.2.3").is_loopback


@pytest.fixture
def fake_serve(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``got-ocr serve`` with vLLM's server replaced: what it would start, and 'ready'."""
    calls: list[dict[str, Any]] = []

    def serve(load: Any, settings: Any, where: Any, **options: Any) -> int:
        calls.append({"load": load, "settings": settings, "where": where})
        options["on_ready"](where.url)
        return 0

    monkeypatch.setattr(serve_command_line, "serve", serve)
    monkeypatch.delenv("GOT_OCR_API_KEY", raising=False)
    return calls


def test_serve_beyond_loopback_without_a_key_warns(
    fake_serve: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 0
    out, err = capsys.readouterr()
    assert "without an API key" in err
    assert "serving stepfun-ai/GOT-OCR-2.0-hf at http://127.0.0.1:8123" in out
    assert "--server http://127.0.0.1:8123" in out
    assert fake_serve[0]["where"].host == "0.0.0.0"


@pytest.mark.parametrize(
    ("argv", "environment"),
    [(["--host", "127.0.0.1"], {}), (["--host", "0.0.0.0", "--api-key", "k"], {}),
     (["--host", "0.0.0.0"], {"GOT_OCR_API_KEY": "k"})],
)  # fmt: skip
def test_serve_on_loopback_or_with_a_key_does_not_warn(
    fake_serve: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environment: dict[str, str],
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", *argv]) == 0
    assert "without an API key" not in capsys.readouterr().err
    assert (fake_serve[0]["where"].api_key is not None) == (argv[-1] == "k" or bool(environment))


def test_serve_passes_the_model_options_and_vllm_options(fake_serve: list[dict[str, Any]]) -> None:
    argv = ["serve", "--model", "./ckpt", "--offline", "--dtype", "bf16", "--max-model-len", "8192"]
    argv += ["--vllm-option", "tensor_parallel_size=2", "--vllm-option", "kv-cache-dtype=fp8"]
    assert cli.main(argv) == 0
    load, settings = fake_serve[0]["load"], fake_serve[0]["settings"]
    assert (load.model, load.local_files_only, load.dtype) == ("./ckpt", True, "bfloat16")
    assert settings.max_model_len == 8192
    assert dict(settings.options) == {"tensor_parallel_size": 2, "kv_cache_dtype": "fp8"}


@pytest.mark.parametrize(
    "argv",
    [["--gpu-memory-utilization", "1.5"], ["--port", "0"], ["--vllm-option", "novalue"]],
)
def test_bad_serve_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", *argv])
    assert stopped.value.code == cli.EXIT_USAGE


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_serve_without_vllm_says_which_extra(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve"]) == cli.EXIT_FAILED
    assert "got-loaders[vllm]" in capsys.readouterr().err


def _pages(folder: Path) -> list[Path]:
    paths = []
    for shade in (10, 20):
        path = folder / f"page{shade}.png"
        Image.new("RGB", (90, 70), (shade, 3, 4)).save(path)
        paths.append(path)
    return paths


def test_convert_with_server_reads_every_page_there(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = _pages(tmp_path)
    argv = ["convert", *map(str, pages), "--server", f"{server.url}/v1/", "--task", "plain"]
    assert cli.main([*argv, "-f", "jsonl", "--no-cache"]) == cli.EXIT_OK
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"].strip() for row in rows] == ["page 10 3 4", "page 20 3 4"]
    assert {row["metadata"]["ocr_model"] for row in rows} == {"got-fake"}


def test_convert_with_server_and_the_cache_reads_each_page_once(
    server: FakeServer, tmp_path: Path
) -> None:
    pages = _pages(tmp_path)
    argv = ["convert", *map(str, pages), "--server", server.url, "--cache", str(tmp_path / "c")]
    assert cli.main([*argv, "-o", str(tmp_path / "one"), "-q"]) == cli.EXIT_OK
    assert cli.main([*argv, "-o", str(tmp_path / "two"), "-q"]) == cli.EXIT_OK
    assert len(server.bodies) == 2
    assert (tmp_path / "two" / "page10.md").read_text() == (
        tmp_path / "one" / "page10.md"
    ).read_text()


def test_convert_with_no_server_is_one_error_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = _pages(tmp_path)
    argv = ["convert", *map(str, pages), "--server", "http://127.0.0.1:9", "--no-cache"]
    assert cli.main(argv) == cli.EXIT_FAILED
    out, err = capsys.readouterr()
    assert err.count("got-ocr: error: Cannot use the GOT server at http://127.0.0.1:9") == 1
    assert out == ""


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--backend", "vllm"], "--backend vllm does not apply to --server"),
     (["--device", "cpu"], "--device does not apply to --server"),
     (["--enforce-eager"], "--enforce-eager does not apply to --server")],
)  # fmt: skip
def test_local_engine_options_do_not_mix_with_server(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (page,) = _pages(tmp_path)[:1]
    with pytest.raises(SystemExit) as stopped:
        cli.main(["convert", str(page), "--server", "http://127.0.0.1:8000", *extra])
    assert stopped.value.code == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--api-key", "k"], "--api-key needs --server"),
     (["--max-in-flight", "4"], "--max-in-flight needs --server"),
     (["--server", "127.0.0.1:8000"], "starts with http://")],
)  # fmt: skip
def test_server_options_are_checked(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (page,) = _pages(tmp_path)[:1]
    with pytest.raises(SystemExit):
        cli.main(["convert", str(page), *argv])
    assert message in capsys.readouterr().err


def test_a_vllm_option_turned_off_is_passed_as_no_flag(tiny_checkpoint: str) -> None:
    settings = VLLMSettings(options=(("enable_prefix_caching", False),))
    command = serve_command(LoadSettings(model="m"), settings, ServeSettings(), tiny_checkpoint)
    assert "--no-enable-prefix-caching" in command
    assert "--enforce-eager" not in command  # the project's own off switches stay unsaid
    assert "secret" not in repr(ServeSettings(api_key="secret"))
