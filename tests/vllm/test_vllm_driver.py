"""The driver thread around vLLM's engine, against a stand-in engine: submissions never hang,
a dead vLLM fails every waiting page and is started again, vLLM's own request failures cost
only their page, and vLLM never holds more images than its share."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

import got_model.vllm_backend as backend
from got_model import PLAIN, FinishReason, GOTError, ModelLoadError, OCRRequest, OCRResult
from tests.conftest import noise_image
from tests.vllm.conftest import VLLM_TESTS

pytestmark = VLLM_TESTS

END = 7  # the stand-in's end token


class Tokenizer:
    def decode(self, tokens: list[int], skip_special_tokens: bool = True) -> str:
        return " ".join(map(str, tokens))


class StandIn:
    """vLLM's LLMEngine as the driver uses it: each request writes ``length`` tokens, one a
    step, then the end token; ``fail`` lists requests (by prompt) that vLLM ends with "error"."""

    def __init__(self, length: int = 3, fail: tuple[str, ...] = ()) -> None:
        self.length = length
        self.fail = fail
        self.requests: dict[str, list[int]] = {}
        self.prompts: dict[str, str] = {}
        self.added: list[str] = []
        self.images = 0
        self.most_images = 0
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def add_request(self, request_id: str, prompt: dict[str, Any], params: Any) -> None:
        with self.lock:
            self.requests[request_id] = []
            self.prompts[request_id] = prompt["prompt"]
            self.added.append(prompt["prompt"])
            self.images += len(prompt["multi_modal_data"]["image"])
            self.most_images = max(self.most_images, self.images)
            self.counts[request_id] = len(prompt["multi_modal_data"]["image"])

    def abort_request(self, ids: list[str]) -> None:
        for request_id in ids:
            self._leave(request_id)

    def _leave(self, request_id: str) -> None:
        self.requests.pop(request_id, None)
        self.images -= self.counts.pop(request_id, 0)

    def step(self) -> list[Any]:
        time.sleep(0.001)
        outputs = []
        for request_id, tokens in list(self.requests.items()):
            failing = self.prompts[request_id] in self.fail
            token = END if len(tokens) == self.length else 10 + len(tokens)
            tokens.append(token)
            finished = token == END or failing
            reason = "error" if failing else ("stop" if finished else None)
            completion = SimpleNamespace(token_ids=[token], finish_reason=reason)
            outputs.append(
                SimpleNamespace(request_id=request_id, finished=finished, outputs=[completion])
            )
            if finished:
                self._leave(request_id)
        return outputs


def owner(**settings: Any) -> Any:
    counted: list[float] = []
    return SimpleNamespace(
        settings=backend.VLLMSettings(**settings), _count=lambda *a: counted.append(1)
    )


def work(*prompts: str, images: int = 1) -> list[backend._Input]:
    picture = noise_image(0, (8, 8))
    return [backend._Input(p, (picture,) * images, PLAIN) for p in prompts]


def driver(engine: Any, **settings: Any) -> backend._Driver:
    started = backend._Driver(owner(**settings), engine, Tokenizer(), END)
    started.thread.start()
    return started


def test_each_submission_gets_its_results_in_order() -> None:
    running = driver(StandIn(length=3))
    first = running.submit(work("a", "b"))
    second = running.submit(work("c"))
    results = first.result(timeout=10) + second.result(timeout=10)
    running.stop()
    assert all(isinstance(r, OCRResult) for r in results)
    assert [r.text for r in results] == ["10 11 12"] * 3  # type: ignore[union-attr]
    assert {r.finish_reason for r in results} == {FinishReason.STOP}  # type: ignore[union-attr]


def test_a_submission_after_the_driver_stopped_fails_at_once() -> None:
    running = driver(StandIn())
    running.stop()
    future = running.submit(work("late"))
    assert isinstance(future.exception(timeout=5), GOTError)


def test_a_request_vllm_ends_with_an_error_costs_only_itself() -> None:
    running = driver(StandIn(fail=("bad",)))
    results = running.submit(work("good", "bad", "good")).result(timeout=10)
    running.stop()
    assert isinstance(results[0], OCRResult)
    assert isinstance(results[2], OCRResult)
    assert isinstance(results[1], GOTError)
    assert "'error'" in str(results[1])


def test_a_dead_vllm_fails_every_waiting_page_as_fatal() -> None:
    from vllm.v1.engine.exceptions import EngineDeadError

    class Dead(StandIn):
        def add_request(self, *args: Any) -> None:
            raise EngineDeadError()

    running = driver(Dead())
    for _ in range(2):
        error = running.submit(work("a", "b")).exception(timeout=10)
        assert isinstance(error, ModelLoadError)
    assert running.dead is not None


def test_vllm_holds_at_most_its_share_of_images() -> None:
    engine = StandIn(length=5)
    running = driver(engine, max_num_seqs=4)  # at most 4 + 8 images inside vLLM
    results = running.submit(work(*"abcdefghij", images=3)).result(timeout=20)
    running.stop()
    assert len(results) == 10
    assert all(isinstance(r, OCRResult) for r in results)
    assert engine.most_images <= 12


def test_a_cancelled_submission_never_reaches_vllm() -> None:
    engine = StandIn(length=50)
    running = driver(engine, max_num_seqs=1)
    busy = running.submit(work("first"))
    later = running.submit(work("never", "nor-this"))
    assert later.cancel()
    assert isinstance(busy.result(timeout=20)[0], OCRResult)
    running.stop()
    assert "never" not in engine.added
    assert "nor-this" not in engine.added


def test_an_engine_whose_vllm_died_starts_a_new_one(monkeypatch: pytest.MonkeyPatch) -> None:
    class Crashing(StandIn):
        def step(self) -> list[Any]:
            raise RuntimeError("CUDA error: an illegal memory access")

    starts: list[backend._Driver] = []

    def start(engine_owner: Any) -> backend._Driver:
        engine_owner._inputs = SimpleNamespace(build=lambda request: work("p")[0])
        fake = Crashing() if not starts else StandIn()
        started = backend._Driver(engine_owner, fake, Tokenizer(), END)
        started.thread.start()
        starts.append(started)
        return started

    monkeypatch.setattr(backend._Driver, "start", staticmethod(start))
    engine = backend.VLLMEngine("some/got")
    page = [OCRRequest((noise_image(1, (8, 8)),), PLAIN)]
    with pytest.raises(ModelLoadError, match="illegal memory access"):
        engine.recognize_batch(page)
    assert not engine.is_loaded
    [result] = engine.recognize_batch(page)  # a new vLLM
    assert result.finish_reason is FinishReason.STOP
    assert len(starts) == 2
    assert engine.is_loaded
    engine.unload()
    assert not engine.is_loaded
