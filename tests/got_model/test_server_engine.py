"""ServerEngine against a stand-in server (tests/got_model/fake_server.py): what it sends, how
it fails, retries, stops a looping page, pickles and caches. tests/vllm/test_server.py runs it
against the real ``got-ocr serve``."""

from __future__ import annotations

import base64
import io
import pickle
import time
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from got_model import (
    FinishReason,
    OCRRequest,
    OCRTask,
    ServerAuthError,
    ServerEngine,
    ServerError,
    ServerUnavailableError,
)
from got_model.server_engine import normalized_url
from got_model.vllm_backend import PageInputs
from tests.got_model.fake_server import ABORT, LOOP, LOOP_TOKENS, REFUSE, STALL, FakeServer


@pytest.fixture
def server(tiny_checkpoint: str) -> Iterator[FakeServer]:
    fake = FakeServer(tiny_checkpoint).start()
    yield fake
    fake.stop()


def page(color: tuple[int, int, int], size: tuple[int, int] = (90, 70)) -> Image.Image:
    """A page of one colour: it stays that colour when resized, and tells the stand-in what
    to answer."""
    return Image.new("RGB", size, color)


_made: list[ServerEngine] = []


@pytest.fixture(autouse=True)
def _close_engines() -> Iterator[None]:
    """Each engine a test made ends with it (its event loop's thread included)."""
    yield
    while _made:
        _made.pop().unload()


def engine_for(server: FakeServer, **options: object) -> ServerEngine:
    options.setdefault("retries", 0)
    engine = ServerEngine(server.url, **options)  # type: ignore[arg-type]
    _made.append(engine)
    return engine


def sent_images(body: dict) -> list[Image.Image]:
    images = []
    for part in body["messages"][0]["content"]:
        url = part["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        images.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return images


def test_results_come_back_in_order_with_the_decoded_text(server: FakeServer) -> None:
    engine = engine_for(server, max_in_flight=3)
    pages = [page((i, 10, 20)) for i in range(20, 32)]
    results = engine.recognize_images(pages)
    assert [r.text for r in results] == [server.expected_text(p) for p in pages]
    assert all(r.finish_reason is FinishReason.STOP for r in results)
    text_tokens = server.tokenizer.encode("page 20 10 20", add_special_tokens=False)
    assert results[0].generated_tokens == len(text_tokens) + 1  # and <|im_end|>
    assert engine.stats.pages == 12
    assert engine.model_id == "got-fake"


def test_each_task_is_sent_as_the_chat_template_arguments(
    server: FakeServer, tiny_checkpoint: str
) -> None:
    engine = engine_for(server, max_in_flight=1)  # the server sees them in order
    image = page((50, 60, 70), size=(200, 100))
    tasks = [
        OCRTask(),
        OCRTask(output="formatted"),
        OCRTask(box=(20, 10, 100, 50)),
        OCRTask(output="formatted", color="green"),
        OCRTask(crop_to_patches=True, max_patches=4),
    ]
    engine.recognize_each([OCRRequest((image,), task) for task in tasks])
    engine.recognize_pages([image, page((1, 1, 1))])
    kwargs = [body["chat_template_kwargs"] for body in server.bodies]
    assert kwargs == [
        {},
        {"got_format": True},
        {"got_box": [100, 100, 500, 500]},  # 0-1000 of the page, as GOT's processor writes
        {"got_format": True, "got_color": "green"},
        {"got_crop": True},
        {},
    ]
    body = server.bodies[0]
    assert body["temperature"] == 0
    assert body["stream"] is True
    assert body["return_token_ids"] is True
    assert body["ignore_eos"] is True
    assert body["stop_token_ids"] == [server.end_token_id]
    # The images are those GOT's processor reads (resized ahead; multi-crop: the tiles and
    # the thumbnail), sent losslessly.
    from transformers import GotOcr2Processor

    inputs = PageInputs(GotOcr2Processor.from_pretrained(tiny_checkpoint))
    for body, task in zip(server.bodies, tasks, strict=False):
        expected = inputs.build(OCRRequest((image,), task)).images
        got = sent_images(body)
        assert len(got) == len(expected)
        assert (len(got) > 1) == task.crop_to_patches
        for sent, wanted in zip(got, expected, strict=True):
            assert np.array_equal(np.asarray(sent.convert("RGB")), np.asarray(wanted))
    assert len(sent_images(server.bodies[-1])) == 2  # multi-page: one image a page


def test_without_resizing_ahead_pages_go_at_their_own_size(server: FakeServer) -> None:
    image = page((5, 6, 7), size=(123, 45))
    image.putpixel((60, 20), (200, 0, 0))
    engine_for(server, resize_ahead=False).recognize(image)
    (sent,) = sent_images(server.bodies[0])
    assert np.array_equal(np.asarray(sent.convert("RGB")), np.asarray(image))


def test_a_page_the_server_refuses_fails_alone(server: FakeServer) -> None:
    engine = engine_for(server)
    pages = [page((30, 1, 1)), page(REFUSE), page((31, 1, 1))]
    results = engine.recognize_each([OCRRequest((p,)) for p in pages])
    assert [r.text for r in (results[0], results[2])] == ["page 30 1 1", "page 31 1 1"]
    assert isinstance(results[1], ServerError)
    assert "refused the page" in str(results[1])
    assert "HTTP 400" in str(results[1])
    assert "The prompt is too long." in str(results[1])


def test_503s_are_retried_with_backoff(server: FakeServer) -> None:
    server.unavailable = 2
    result = engine_for(server, retries=3).recognize(page((40, 2, 2)))
    assert result.text == "page 40 2 2"
    assert len(server.bodies) == 3


def test_503s_beyond_the_retries_fail_the_page(server: FakeServer) -> None:
    server.unavailable = 5
    (outcome,) = engine_for(server, retries=1).recognize_each([OCRRequest((page((1, 2, 2)),))])
    assert isinstance(outcome, ServerError)
    assert "HTTP 503" in str(outcome)


def test_a_looping_page_is_stopped_early_and_trimmed(server: FakeServer) -> None:
    engine = engine_for(server, max_new_tokens=4000)
    result = engine.recognize(page(LOOP))
    assert result.finish_reason is FinishReason.REPETITION
    expected = server.tokenizer.decode(LOOP_TOKENS, skip_special_tokens=True)
    assert result.text == expected  # one copy of the repeated block is kept
    assert result.repeated_tokens_cut > 0
    deadline = time.monotonic() + 5
    while not server.loop_tokens_sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.loop_tokens_sent
    assert server.loop_tokens_sent[0] < 1000


def test_a_page_slower_than_the_timeout_fails_alone(server: FakeServer) -> None:
    server.stall_seconds = 3.0
    engine = engine_for(server, timeout=0.5)
    results = engine.recognize_each([OCRRequest((page(STALL),)), OCRRequest((page((9, 1, 1)),))])
    assert isinstance(results[0], ServerError)
    assert "within 0.5 s" in str(results[0])
    assert results[1].text == "page 9 1 1"


def test_no_server_is_one_fatal_error_naming_the_url() -> None:
    engine = ServerEngine("http://127.0.0.1:9", retries=0)  # the discard port: refused
    started = time.monotonic()
    with pytest.raises(ServerUnavailableError, match=r"http://127\.0\.0\.1:9") as caught:
        engine.recognize_each([OCRRequest((page((1, 1, 1)),))] * 3)
    assert "nothing answers" in str(caught.value)
    assert "got-ocr serve" in str(caught.value)
    assert time.monotonic() - started < 30


def test_a_wrong_api_key_is_a_clear_error(tiny_checkpoint: str) -> None:
    fake = FakeServer(tiny_checkpoint, api_key="right").start()
    try:
        with pytest.raises(ServerAuthError, match="refused the API key"):
            ServerEngine(fake.url, api_key="wrong", retries=0).load()
        right = ServerEngine(fake.url, api_key="right", retries=0)
        _made.append(right)
        ok = right.recognize(page((3, 3, 3)))
        assert ok.text == "page 3 3 3"
    finally:
        fake.stop()


def test_the_api_key_comes_from_the_environment(
    tiny_checkpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeServer(tiny_checkpoint, api_key="from-env").start()
    monkeypatch.setenv("GOT_OCR_API_KEY", "from-env")
    try:
        engine = ServerEngine(fake.url, retries=0)
        _made.append(engine)
        assert engine.recognize(page((8, 8, 8))).text == "page 8 8 8"
        assert "from-env" not in repr(ServerEngine(fake.url).settings)
    finally:
        fake.stop()


def test_a_model_the_server_lacks_is_refused(server: FakeServer) -> None:
    with pytest.raises(ServerUnavailableError, match="not 'other'"):
        engine_for(server, model="other").load()


def test_a_server_lost_mid_run_fails_the_rest_typed_not_fatally(server: FakeServer) -> None:
    engine = engine_for(server, retries=2)
    assert engine.recognize(page((11, 1, 1))).text == "page 11 1 1"
    server.stop()
    started = time.monotonic()
    outcomes = engine.recognize_each([OCRRequest((page((12 + i, 1, 1)),)) for i in range(6)])
    assert all(isinstance(o, ServerError) and "lost the GOT server" in str(o) for o in outcomes)
    assert time.monotonic() - started < 30


def test_a_copy_unpickled_here_is_the_same_engine(server: FakeServer) -> None:
    engine = engine_for(server)
    engine.load()
    copy = pickle.loads(pickle.dumps(engine))
    _made.append(copy)
    assert pickle.loads(pickle.dumps(copy)) is copy
    assert copy.settings == engine.settings
    assert copy.recognize(page((21, 2, 2))).text == "page 21 2 2"


def test_cache_identity_is_the_model_not_the_url(server: FakeServer, tiny_checkpoint: str) -> None:
    identity = engine_for(server).cache_identity()
    assert identity["root"] == tiny_checkpoint
    assert identity["model"] == "got-fake"
    assert server.url not in str(identity)
    assert engine_for(server, max_new_tokens=7).cache_identity() != identity


def test_a_cancelled_submission_gives_up_its_pages(server: FakeServer) -> None:
    server.stall_seconds = 2.0
    engine = engine_for(server, max_in_flight=1)
    future = engine.submit_each([OCRRequest((page(STALL),)), OCRRequest((page((2, 2, 2)),))])
    deadline = time.monotonic() + 10
    while not server.bodies and time.monotonic() < deadline:  # the first page is on the server
        time.sleep(0.02)
    assert future.cancel()
    time.sleep(2.5)
    assert len(server.bodies) == 1  # the second page never went


def test_urls_are_normalized() -> None:
    assert normalized_url("http://host:8000/v1/") == "http://host:8000"
    with pytest.raises(ValueError, match="http://"):
        normalized_url("host:8000")


def test_an_engine_dropped_without_unload_leaves_no_thread(server: FakeServer) -> None:
    import gc
    import threading

    before = threading.active_count()
    engine = ServerEngine(server.url, retries=0)
    assert engine.recognize(page((6, 6, 6))).text == "page 6 6 6"
    assert threading.active_count() > before
    del engine
    gc.collect()
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before


def test_a_page_the_server_aborts_fails_and_is_not_a_result(server: FakeServer) -> None:
    outcomes = engine_for(server).recognize_each([OCRRequest((page(ABORT),))])
    assert isinstance(outcomes[0], ServerError)
    assert "'abort'" in str(outcomes[0])


def test_max_tokens_never_exceeds_the_servers_context(server: FakeServer) -> None:
    server.max_model_len = 100
    engine_for(server, max_new_tokens=4096).recognize(page((3, 4, 5)))
    engine_for(server, max_new_tokens=50).recognize(page((3, 4, 5)))
    assert [body["max_tokens"] for body in server.bodies] == [100, 50]


def test_an_engine_dropped_while_its_pages_are_read_still_answers(server: FakeServer) -> None:
    future = ServerEngine(server.url, retries=0).submit_each(
        [OCRRequest((page((i, 7, 7)),)) for i in range(8)]
    )
    assert [r.text for r in future.result(timeout=60)] == [f"page {i} 7 7" for i in range(8)]


def test_unload_with_pages_open_fails_them_and_returns(server: FakeServer) -> None:
    server.stall_seconds = 30.0
    engine = engine_for(server, max_in_flight=2)
    future = engine.submit_each([OCRRequest((page(STALL),)) for _ in range(5)])
    deadline = time.monotonic() + 10
    while len(server.bodies) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    engine.unload()
    outcomes = future.result(timeout=30)
    assert time.monotonic() - started < 20
    assert all(isinstance(outcome, Exception) for outcome in outcomes)
