"""The result cache: round trips, keys, lazy creation, bad files, processes, kills."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import platformdirs
import pytest
from PIL import Image

from got_model import (
    FORMATTED,
    PLAIN,
    FinishReason,
    GOTEngine,
    OCRRequest,
    OCRResult,
    OCRTask,
    RepetitionGuard,
)
from got_model.cache import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    CacheError,
    CacheInfo,
    ResultCache,
    default_cache_path,
    image_digest,
    open_cache,
    recognize_cached,
    result_key,
    task_identity,
)
from got_model.tasks import OutputFormat, RegionColor
from tests.got_loaders.samples import FakeEngine, page_colour

ROOT = Path(__file__).resolve().parents[2]


def make_result(
    text: str = "Some \\textbf{text}.",
    task: OCRTask = FORMATTED,
    *,
    finish_reason: FinishReason = FinishReason.STOP,
    generated_tokens: int = 12,
    repeated_tokens_cut: int = 0,
    seconds: float = 0.5,
) -> OCRResult:
    return OCRResult(
        text=text,
        finish_reason=finish_reason,
        generated_tokens=generated_tokens,
        seconds=seconds,
        task=task,
        repeated_tokens_cut=repeated_tokens_cut,
    )


def integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def all_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


# -- round trips ----------------------------------------------------------------------------


def test_a_stored_result_comes_back_equal(tmp_path: Path) -> None:
    task = OCRTask(output=OutputFormat.FORMATTED, crop_to_patches=True, max_patches=6)
    original = make_result(
        "Ünïcode \\section*{Title}\n\n| a | b |\n" + "x" * 5000,
        task,
        finish_reason=FinishReason.REPETITION,
        generated_tokens=4321,
        repeated_tokens_cut=987,
        seconds=1.234567,
    )
    with ResultCache(tmp_path / "results.sqlite3") as cache:
        assert cache.get("some-key", task) is None  # a miss on a brand-new cache
        cache.put("some-key", original, "model/a")
        back = cache.get("some-key", task)
    assert back is not None
    assert back == original
    assert back.text == original.text
    assert back.finish_reason is FinishReason.REPETITION
    assert back.generated_tokens == 4321
    assert back.repeated_tokens_cut == 987
    assert back.seconds == pytest.approx(1.234567)
    assert back.task == task
    # A second handle on the same file (a later run) reads it too.
    assert ResultCache(tmp_path / "results.sqlite3").get("some-key", task) == original


def test_a_miss_is_none_and_nothing_is_made_up(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c.sqlite3")
    cache.put("present", make_result("here"))
    assert cache.get("absent", FORMATTED) is None
    assert cache.get("Present", FORMATTED) is None  # keys are exact
    assert cache.get("present", FORMATTED) == make_result("here")


def test_get_many_keeps_the_order_and_duplicates(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c.sqlite3")
    first, second = make_result("first", PLAIN), make_result("second", FORMATTED)
    cache.put_many([("k1", first), ("k2", second)], "m")
    keys = ["k2", "nope", "k1", "k2", "k1"]
    found = cache.get_many(keys, [FORMATTED, PLAIN, PLAIN, FORMATTED, PLAIN])
    assert found == [second, None, first, second, first]
    assert cache.get_many([], []) == []


def test_get_many_reads_more_keys_than_sqlite_binds_at_once(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c.sqlite3")
    cache.put_many([(f"key{i}", make_result(f"text {i}")) for i in range(1200)], "m")
    keys = [f"key{i}" for i in reversed(range(1300))]  # 100 misses first, then 1200 hits
    found = cache.get_many(keys, [FORMATTED] * len(keys))
    assert found[:100] == [None] * 100
    assert [result.text for result in found[100:] if result is not None] == [
        f"text {i}" for i in reversed(range(1200))
    ]


def test_storing_a_key_again_replaces_its_result(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "c.sqlite3")
    cache.put("k", make_result("old"))
    cache.put("k", make_result("new"))
    assert cache.get("k", FORMATTED) == make_result("new")
    assert cache.info().entries == 1


# -- keys -----------------------------------------------------------------------------------


def noise(seed: int, size: tuple[int, int] = (16, 12), mode: str = "RGB") -> Image.Image:
    data = bytes((seed * 31 + i * 7) % 256 for i in range(size[0] * size[1] * 3))
    return Image.frombytes("RGB", size, data).convert(mode)


def test_image_digest_follows_the_pixels_mode_and_size() -> None:
    image = noise(1)
    assert image_digest(image) == image_digest(noise(1))  # equal pixels, equal digest
    assert image_digest(image) != image_digest(noise(2))
    changed = image.copy()
    changed.putpixel((3, 4), (0, 0, 0) if image.getpixel((3, 4)) != (0, 0, 0) else (1, 1, 1))
    assert image_digest(changed) != image_digest(image)
    # The same bytes read as another mode or another shape are another image.
    data = bytes(range(64))
    as_l = Image.frombytes("L", (8, 8), data)
    as_p = Image.frombytes("P", (8, 8), data)
    assert as_l.tobytes() == as_p.tobytes()
    assert image_digest(as_l) != image_digest(as_p)
    wide, tall = Image.frombytes("L", (16, 4), data), Image.frombytes("L", (4, 16), data)
    assert wide.tobytes() == tall.tobytes()
    assert len({image_digest(as_l), image_digest(wide), image_digest(tall)}) == 3


BASE_TASK = OCRTask(output=OutputFormat.PLAIN)
TASK_VARIANTS = {
    "output": OCRTask(output=OutputFormat.FORMATTED),
    "box": OCRTask(box=(0, 0, 10, 10)),
    "color": OCRTask(color=RegionColor.RED),
    "crop_to_patches": OCRTask(crop_to_patches=True),
    "max_patches": OCRTask(crop_to_patches=True, max_patches=3),
}


@pytest.mark.parametrize("field", sorted(TASK_VARIANTS))
def test_every_task_field_changes_the_key(field: str) -> None:
    identity = {"engine": "x", "model": "m"}
    digests = [image_digest(noise(1))]
    variant = TASK_VARIANTS[field]
    assert task_identity(variant)[field] != task_identity(BASE_TASK)[field]
    assert result_key(identity, variant, digests) != result_key(identity, BASE_TASK, digests)


def test_task_values_within_a_field_give_different_keys() -> None:
    identity = {"engine": "x", "model": "m"}
    digests = [image_digest(noise(1))]
    tasks = [
        OCRTask(box=(0, 0, 10, 10)),
        OCRTask(box=(0, 0, 10, 11)),
        OCRTask(color=RegionColor.RED),
        OCRTask(color=RegionColor.GREEN),
        OCRTask(crop_to_patches=True, max_patches=6),
        OCRTask(crop_to_patches=True, max_patches=12),
        OCRTask(output=OutputFormat.FORMATTED, crop_to_patches=True, max_patches=12),
    ]
    assert len({result_key(identity, task, digests) for task in tasks}) == len(tasks)


def test_equal_inputs_give_equal_keys() -> None:
    first = result_key(
        {"model": "m", "engine": "x"}, OCRTask(box=(1, 2, 3, 4)), [image_digest(noise(1))]
    )
    again = result_key(
        {"engine": "x", "model": "m"}, OCRTask(box=(1, 2, 3, 4)), [image_digest(noise(1))]
    )
    assert first == again
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_the_images_and_their_order_are_in_the_key() -> None:
    identity = {"engine": "x", "model": "m"}
    a, b = image_digest(noise(1)), image_digest(noise(2))
    keys = {
        result_key(identity, PLAIN, [a]),
        result_key(identity, PLAIN, [b]),
        result_key(identity, PLAIN, [a, b]),
        result_key(identity, PLAIN, [b, a]),
    }
    assert len(keys) == 4


ENGINE_VARIANTS = {
    "model": {"model": "someone/other-got"},
    "revision": {"revision": "v2"},
    "max_new_tokens": {"max_new_tokens": 100},
    "repetition_guard": {"repetition_guard": RepetitionGuard(min_span=64)},
    "repetition_guard_off": {"repetition_guard": None},
    "no_repeat_ngram_size": {"no_repeat_ngram_size": 20},
    "dtype": {"dtype": "float16"},
}


@pytest.mark.parametrize("name", sorted(ENGINE_VARIANTS))
def test_every_engine_setting_that_changes_the_text_changes_the_key(name: str) -> None:
    digests = [image_digest(noise(1))]
    base = GOTEngine()
    variant = GOTEngine(**ENGINE_VARIANTS[name])  # type: ignore[arg-type]
    assert variant.cache_identity() != base.cache_identity()
    assert result_key(variant.cache_identity(), PLAIN, digests) != result_key(
        base.cache_identity(), PLAIN, digests
    )
    assert not base.is_loaded
    assert not variant.is_loaded


def test_equal_engines_give_equal_keys_and_device_or_batch_size_do_not_count() -> None:
    digests = [image_digest(noise(1))]
    base = GOTEngine(max_new_tokens=512)
    same = GOTEngine(max_new_tokens=512, repetition_guard=RepetitionGuard())
    elsewhere = GOTEngine(max_new_tokens=512, device="cuda:1", batch_size=32)
    keys = {result_key(e.cache_identity(), PLAIN, digests) for e in (base, same, elsewhere)}
    assert len(keys) == 1


def test_two_engine_classes_with_one_model_id_differ() -> None:
    class OtherFake(FakeEngine):
        pass

    assert FakeEngine().cache_identity() == FakeEngine().cache_identity()
    assert FakeEngine().cache_identity()["model"] == "fake/got"
    assert OtherFake().cache_identity() != FakeEngine().cache_identity()


def test_a_local_model_directory_is_identified_by_its_weight_files(tmp_path: Path) -> None:
    model = tmp_path / "my-got"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "got_ocr2"}')
    weights = model / "model.safetensors"
    weights.write_bytes(b"\0" * 1000)
    engine = GOTEngine(str(model), device="cpu", batch_size=2)
    before = engine.cache_identity()
    assert before == GOTEngine(str(model), device="cpu", batch_size=2).cache_identity()
    # Neither the device nor the batch size is part of it.
    assert GOTEngine(str(model), device="cuda", batch_size=16).cache_identity() == before

    # Rewritten in place with the same size, later: another model.
    stat = weights.stat()
    weights.write_bytes(b"\1" * 1000)
    later = stat.st_mtime_ns + 5_000_000_000
    os.utime(weights, ns=(later, later))
    rewritten = engine.cache_identity()
    assert rewritten != before
    # Rewritten with another size (no clock games): another model again.
    weights.write_bytes(b"\1" * 2000)
    os.utime(weights, ns=(later, later))
    assert engine.cache_identity() not in (before, rewritten)
    # A new config counts too.
    again = engine.cache_identity()
    (model / "config.json").write_text('{"model_type": "got_ocr2", "x": 1}')
    assert engine.cache_identity() != again
    assert not engine.is_loaded


# -- nothing on disk until used -------------------------------------------------------------


def test_nothing_is_created_before_the_first_lookup_or_store(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "x.sqlite3"
    cache = ResultCache(path)
    opened = open_cache(tmp_path / "x.sqlite3")
    assert isinstance(opened, ResultCache)
    assert repr(cache)
    assert str(path) in repr(cache)
    info = cache.info()
    assert info == CacheInfo(path, exists=False)
    assert info.entries == 0
    assert info.size_bytes == 0
    assert dict(info.models) == {}
    assert cache.clear() == 0
    cache.close()
    assert all_files(tmp_path) == []  # no file, not even the folders
    cache.get("k", PLAIN)  # the first lookup creates the folders and the database
    assert path.is_file()
    assert not (tmp_path / "x.sqlite3").exists()


def test_open_cache_accepts_what_cache_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert open_cache(None) is None
    assert open_cache(False) is None
    default = open_cache(True)
    assert isinstance(default, ResultCache)
    assert default.path == default_cache_path()
    by_str = open_cache(str(tmp_path / "a.sqlite3"))
    by_path = open_cache(tmp_path / "b.sqlite3")
    assert isinstance(by_str, ResultCache)
    assert by_str.path == tmp_path / "a.sqlite3"
    assert isinstance(by_path, ResultCache)
    assert by_path.path == tmp_path / "b.sqlite3"
    instance = ResultCache(tmp_path / "c.sqlite3")
    assert open_cache(instance) is instance
    for bad in (3, 1.5, b"bytes.sqlite3", ["x"]):
        with pytest.raises(TypeError, match="cache must be"):
            open_cache(bad)  # type: ignore[arg-type]
    assert all_files(tmp_path) == []


def test_the_default_file_is_in_the_user_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    expected = platformdirs.user_cache_path("got-loaders", appauthor=False) / "results.sqlite3"
    assert default_cache_path() == expected
    assert ResultCache().path == expected
    if sys.platform.startswith("linux"):
        assert expected == tmp_path / "xdg" / "got-loaders" / "results.sqlite3"
        cache = ResultCache()
        cache.put("k", make_result())
        cache.close()
        assert expected.is_file()


# -- files that are not ours ----------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_a_cache_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    content = b"These are my notes, not a database.\n" * 200
    path.write_bytes(content)
    for use in (
        lambda cache: cache.get("k", PLAIN),
        lambda cache: cache.put("k", make_result()),
        lambda cache: cache.info(),
    ):
        with pytest.raises(CacheError) as caught:
            use(ResultCache(path))
        assert str(path) in str(caught.value)
    assert path.read_bytes() == content  # the cache never overwrites a file it cannot read


def test_another_programs_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, score REAL)")
    connection.executemany("INSERT INTO results (score) VALUES (?)", [(i,) for i in range(5)])
    connection.commit()
    connection.close()
    content = path.read_bytes()
    for use in (ResultCache.info, ResultCache.clear, lambda c: c.get("k", PLAIN)):
        with pytest.raises(CacheError, match="not a got-loaders result cache"):
            use(ResultCache(path))
    assert path.read_bytes() == content  # not switched to WAL, not emptied


def test_an_empty_file_becomes_a_cache(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    cache = ResultCache(path)
    cache.put("k", make_result())
    assert cache.get("k", FORMATTED) == make_result()
    cache.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE got_ocr_results (key TEXT PRIMARY KEY, other BLOB)")
    connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(CacheError, match="newer") as caught:
        ResultCache(path).get("k", PLAIN)
    assert str(path) in str(caught.value)
    with pytest.raises(CacheError):
        ResultCache(path).put("k", make_result())
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    connection.close()


# -- maintenance ----------------------------------------------------------------------------


def test_info_counts_and_clear_empties(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ResultCache(path)
    started = time.time()
    cache.put_many([(f"a{i}", make_result(f"a{i}")) for i in range(3)], "org/model-a")
    cache.put_many([(f"b{i}", make_result(f"b{i}")) for i in range(2)], "org/model-b")
    finished = time.time()
    info = cache.info()
    assert info.exists
    assert info.path == path
    assert info.entries == 5
    assert dict(info.models) == {"org/model-a": 3, "org/model-b": 2}
    assert info.size_bytes >= path.stat().st_size > 0
    assert info.oldest is not None
    assert info.newest is not None
    assert started - 1 <= info.oldest <= info.newest <= finished + 1

    assert cache.clear() == 5
    emptied = cache.info()
    assert emptied.exists
    assert emptied.entries == 0
    assert dict(emptied.models) == {}
    assert emptied.oldest is None
    assert emptied.newest is None
    assert cache.get("a0", FORMATTED) is None
    assert cache.clear() == 0
    cache.put("again", make_result("again"))  # still usable after clearing
    assert ResultCache(path).info().entries == 1


def test_a_pickled_cache_reopens_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ResultCache(path, timeout=7.5)
    cache.put("k", make_result("kept"))  # the connection is open: it must not travel
    copy = pickle.loads(pickle.dumps(cache))
    assert isinstance(copy, ResultCache)
    assert copy is not cache
    assert copy.path == path
    assert copy.timeout == 7.5
    assert copy.get("k", FORMATTED) == make_result("kept")
    copy.put("from-copy", make_result("copy"))
    assert cache.get("from-copy", FORMATTED) == make_result("copy")


# -- several processes ----------------------------------------------------------------------


def _write_entries(path: str, worker: int, barrier: object) -> None:
    """Run in a spawned process: 50 entries, one transaction each, all workers at once."""
    cache = ResultCache(path)
    barrier.wait(timeout=60)  # type: ignore[attr-defined]
    for index in range(50):
        cache.put(f"w{worker}-{index}", make_result(f"worker {worker} entry {index}"), "proc")
    cache.close()


def test_four_processes_write_to_one_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "results.sqlite3"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    workers = [
        context.Process(target=_write_entries, args=(str(path), worker, barrier))
        for worker in range(4)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    assert [process.exitcode for process in workers] == [0, 0, 0, 0]
    keys = [f"w{worker}-{index}" for worker in range(4) for index in range(50)]
    found = ResultCache(path).get_many(keys, [FORMATTED] * len(keys))
    assert [result.text if result else None for result in found] == [
        f"worker {worker} entry {index}" for worker in range(4) for index in range(50)
    ]
    assert ResultCache(path).info().entries == 200
    assert integrity(path) == "ok"


def test_a_first_use_waits_for_another_connection_setting_the_file_up(tmp_path: Path) -> None:
    """As two processes starting on a new cache file at once: one holds the write lock while
    the other opens the file. The second must wait (its ``timeout``), not fail."""
    path = tmp_path / "fresh.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, other.execute, args=("COMMIT",))
    release.start()
    try:
        cache = ResultCache(path, timeout=10)
        cache.put("k", make_result("waited"))
        assert cache.get("k", FORMATTED) == make_result("waited")
    finally:
        release.join()
        other.close()
    assert integrity(path) == "ok"


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from got_model.cache import ResultCache
    from got_model.results import FinishReason, OCRResult
    from got_model.tasks import PLAIN

    cache = ResultCache(sys.argv[1])
    batch = 0
    while True:
        cache.put_many(
            [
                (
                    f"batch{batch}-{item}",
                    OCRResult(f"{batch}/{item}:" + "y" * 3000, FinishReason.STOP, item, 0.0, PLAIN),
                )
                for item in range(10)
            ],
            "killed",
        )
        batch += 1
        if batch == 20:
            print("writing", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_writer_leaves_whole_batches_and_a_sound_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.strip() == "writing", process.stderr.read() if process.stderr else ""
        time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert process.returncode == -signal.SIGKILL
    assert integrity(path) == "ok"

    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT key, text, finish_reason, generated_tokens FROM got_ocr_results"
        ).fetchall()
    finally:
        connection.close()
    batches: dict[int, set[int]] = {}
    for key, text, finish_reason, tokens in rows:
        batch, item = (int(part) for part in key.removeprefix("batch").split("-"))
        assert text == f"{batch}/{item}:" + "y" * 3000  # every row whole
        assert (finish_reason, tokens) == ("stop", item)
        batches.setdefault(batch, set()).add(item)
    assert len(batches) >= 20
    # Each batch is all or nothing, and the committed batches are exactly the first ones.
    assert all(items == set(range(10)) for items in batches.values())
    assert sorted(batches) == list(range(len(batches)))
    # The cache opens the file as usual and keeps writing.
    cache = ResultCache(path)
    assert cache.info().entries == 10 * len(batches)
    cache.put("after", make_result("after"))
    assert cache.get("after", FORMATTED) == make_result("after")


# -- recognize_cached -----------------------------------------------------------------------


def page_image(document: int, page: int) -> Image.Image:
    return Image.new("RGB", (64, 48), page_colour(document, page))


def test_recognize_cached_runs_only_the_misses_in_one_batch(tmp_path: Path) -> None:
    requests = [OCRRequest((page_image(1, page),), FORMATTED) for page in range(4)]
    engine = FakeEngine()
    uncached = recognize_cached(engine, requests, None)
    assert engine.batches == [[(1, 0), (1, 1), (1, 2), (1, 3)]]

    cache = ResultCache(tmp_path / "c.sqlite3")
    engine = FakeEngine()
    first = recognize_cached(engine, [requests[1], requests[3]], cache)
    assert engine.batches == [[(1, 1), (1, 3)]]
    assert [result.text for result in first] == [uncached[1].text, uncached[3].text]

    results = recognize_cached(engine, requests, cache)
    assert engine.batches == [[(1, 1), (1, 3)], [(1, 0), (1, 2)]]  # one batch of the misses
    assert results == uncached  # in request order, hits and misses alike
    assert cache.info().entries == 4
    assert dict(cache.info().models) == {"fake/got": 4}

    again = recognize_cached(engine, requests, cache)
    assert len(engine.batches) == 2  # everything cached now
    assert again == uncached

    # Another task or another model misses.
    recognize_cached(engine, [OCRRequest((page_image(1, 0),), PLAIN)], cache)
    assert engine.batches[-1] == [(1, 0)]

    class OtherModel(FakeEngine):
        @property
        def model_id(self) -> str:
            return "fake/other"

    other = OtherModel()
    recognize_cached(other, requests[:2], cache)
    assert other.batches == [[(1, 0), (1, 1)]]


class BrokenCache(ResultCache):
    """A cache whose disk fails on every read and write."""

    def get_many(self, keys: object, tasks: object) -> list[OCRResult | None]:
        raise CacheError(f"Cannot read the result cache {self.path}: disk I/O error.")

    def put_many(self, items: object, model: str = "") -> None:
        raise CacheError(f"Cannot write to the result cache {self.path}: disk I/O error.")


def test_recognize_cached_with_a_broken_cache_still_recognizes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    requests = [OCRRequest((page_image(2, page),), PLAIN) for page in range(3)]
    expected = FakeEngine().recognize_batch(requests)
    engine = FakeEngine()
    with caplog.at_level(logging.WARNING, logger="got_model"):
        results = recognize_cached(engine, requests, BrokenCache(tmp_path / "c.sqlite3"))
    assert results == expected
    assert engine.batches == [[(2, 0), (2, 1), (2, 2)]]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("disk I/O error" in message for message in logged) == 2  # lookup and store


def test_the_tile_limit_counts_only_with_multi_crop() -> None:
    identity = {"engine": "x", "model": "m"}
    digests = [image_digest(noise(1))]
    assert result_key(identity, OCRTask(max_patches=3), digests) == result_key(
        identity, OCRTask(max_patches=12), digests
    )
    assert result_key(identity, OCRTask(crop_to_patches=True, max_patches=3), digests) != (
        result_key(identity, OCRTask(crop_to_patches=True, max_patches=12), digests)
    )


def test_a_palette_is_part_of_the_pixels() -> None:
    black, white = Image.new("P", (8, 8), 0), Image.new("P", (8, 8), 0)
    black.putpalette([0, 0, 0] * 256)
    white.putpalette([255, 255, 255] * 256)
    assert image_digest(black) != image_digest(white)
    assert image_digest(black) == image_digest(black.convert("RGB"))


def test_the_transformers_engine_keeps_the_cache_identity_it_had_before_the_backends_split(
    tiny_checkpoint: str,
) -> None:
    # Results cached when GOTEngine lived in got_model.engine must still be found.
    from got_model import GOTEngine

    assert GOTEngine(tiny_checkpoint).cache_identity()["engine"] == "got_model.engine.GOTEngine"

    class Custom(GOTEngine):
        pass

    assert Custom(tiny_checkpoint).cache_identity()["engine"].endswith("Custom")
