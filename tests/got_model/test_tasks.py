from __future__ import annotations

import pytest
from PIL import Image

from got_model import InvalidTaskError, OCRRequest, OCRTask, OutputFormat, RegionColor


def test_defaults_are_plain_whole_image() -> None:
    task = OCRTask()
    assert task.output is OutputFormat.PLAIN
    assert not task.is_region
    assert task.describe() == "plain"


def test_strings_are_coerced_to_enums() -> None:
    task = OCRTask(output="formatted", color="red")  # type: ignore[arg-type]
    assert task.output is OutputFormat.FORMATTED
    assert task.color is RegionColor.RED
    assert task.describe() == "formatted+color:red"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"output": "markdown"},
        {"color": "purple"},
        {"box": (10, 10, 5, 20)},
        {"box": (10, 10, 20, 10)},
        {"box": (-1, 0, 5, 5)},
        {"box": (1, 2, 3)},
        {"box": "0,0,1,1"},
        {"box": (0, 0, 5, 5), "color": "red"},
        {"crop_to_patches": True, "box": (0, 0, 5, 5)},
        {"max_patches": 0},
        {"max_patches": 2.5},
    ],
)
def test_invalid_tasks_raise_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidTaskError) as info:
        OCRTask(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_box_must_fit_the_image() -> None:
    image = Image.new("RGB", (100, 50))
    OCRRequest((image,), OCRTask(box=(0, 0, 100, 50)))
    with pytest.raises(InvalidTaskError, match="100x50"):
        OCRRequest((image,), OCRTask(box=(0, 0, 101, 50)))
    with pytest.raises(InvalidTaskError, match="100x50"):
        OCRRequest((image,), OCRTask(box=(10, 10, 20, 51)))


def test_request_accepts_a_bare_image_and_rejects_non_images() -> None:
    image = Image.new("RGB", (10, 10))
    assert OCRRequest(image).images == (image,)  # type: ignore[arg-type]
    with pytest.raises(InvalidTaskError, match="not a PIL image"):
        OCRRequest(("page.png",))  # type: ignore[arg-type]
    with pytest.raises(InvalidTaskError, match="at least one"):
        OCRRequest(())


@pytest.mark.parametrize(
    "task", [OCRTask(box=(0, 0, 5, 5)), OCRTask(color="blue"), OCRTask(crop_to_patches=True)]
)
def test_multi_page_takes_whole_pages_only(task: OCRTask) -> None:
    pages = (Image.new("RGB", (10, 10)), Image.new("RGB", (10, 10)))
    with pytest.raises(InvalidTaskError, match="Multi-page"):
        OCRRequest(pages, task)
