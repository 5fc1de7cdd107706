"""Page sources: PDFs and images become pages at GOT's size, from paths, bytes or file objects."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from got_loaders.errors import (
    DocumentError,
    DocumentNotFoundError,
    PageRenderError,
    PasswordError,
    UnsupportedFormatError,
)
from got_loaders.sources import open_document
from got_loaders.sources.documents import SourceDocument
from got_loaders.sources.pages import DocumentKind, render_size, tile_grid
from got_loaders.sources.pdf import pdf_date, pdf_metadata
from got_model import FORMATTED, OCRTask
from tests.got_loaders.samples import make_image, make_pdf, read_colour

CROP = OCRTask(crop_to_patches=True)


def pages_of(source: object, task: OCRTask = FORMATTED, **options: object) -> list:
    document = SourceDocument.from_input(source)  # type: ignore[arg-type]
    with open_document(document, task, **options) as opened:  # type: ignore[arg-type]
        return [opened.render(index) for index in opened.indices(None)]


def test_pdf_from_path_bytes_and_file_object_give_the_same_pages(pdf_path: Path) -> None:
    from_path = pages_of(pdf_path)
    from_bytes = pages_of(pdf_path.read_bytes())
    with pdf_path.open("rb") as file:
        from_file = pages_of(file)
    for pages in (from_path, from_bytes, from_file):
        assert [read_colour(page.image) for page in pages] == [(0, 0), (0, 1), (0, 2)]
        assert [page.number for page in pages] == [1, 2, 3]
    assert from_path[0].document.source == str(pdf_path)
    assert from_path[0].document.file_path == str(pdf_path)
    assert from_file[0].document.source == str(pdf_path)  # the file object's name
    assert from_bytes[0].document.source.startswith("bytes:")
    assert from_bytes[0].document.file_path is None
    assert from_path[0].document.kind is DocumentKind.PDF


def test_bytes_are_named_by_content() -> None:
    one, two = make_pdf(0, 1), make_pdf(1, 1)
    assert SourceDocument.from_input(one).name == SourceDocument.from_input(one).name
    assert SourceDocument.from_input(one).name != SourceDocument.from_input(two).name


@pytest.mark.parametrize(
    ("size", "expected"),
    [((612, 792), (792, 1024)), ((842, 595), (1024, 724)), ((14400, 14400), (1024, 1024))],
)
def test_pdf_pages_render_straight_to_1024_on_the_long_side(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    (page,) = pages_of(make_pdf(0, 1, size=size))
    assert page.image.size == expected
    assert page.image.mode == "RGB"


def test_rotated_pdf_page_renders_upright_at_the_rotated_size() -> None:
    pdf = pymupdf.open(stream=make_pdf(0, 1, size=(612, 792)), filetype="pdf")
    pdf[0].set_rotation(90)
    (page,) = pages_of(pdf.tobytes())
    assert page.image.size == (1024, 792)


def test_multi_crop_renders_exactly_the_tile_grid() -> None:
    # A wide page: GOT's processor resizes it to a grid of 1024 px tiles; render that size.
    (page,) = pages_of(make_pdf(0, 1, size=(1600, 400)), CROP)
    assert tile_grid(1600 / 400, CROP.max_patches) == (4, 1)
    assert page.image.size == (4 * 1024, 1024)


def test_multi_crop_of_a_long_thin_page_stays_bounded() -> None:
    (page,) = pages_of(make_pdf(0, 1, size=(100, 14400)), CROP)
    assert page.image.size == (1024, 12 * 1024)  # at most max_patches tiles, never 147k px
    (one,) = pages_of(
        make_pdf(0, 1, size=(1765, 517)), OCRTask(crop_to_patches=True, max_patches=1)
    )
    assert one.image.size == (1024, 1024)


@pytest.mark.parametrize(
    ("ratio", "max_patches", "expected"),
    [
        (1.0, 12, (3, 3)),
        (612 / 792, 12, (3, 4)),
        (4.0, 12, (4, 1)),
        (1.0, 1, (1, 1)),
        (0.1, 6, (1, 6)),
    ],
)
def test_tile_grid_follows_the_closest_aspect_ratio(
    ratio: float, max_patches: int, expected: tuple[int, int]
) -> None:
    assert tile_grid(ratio, max_patches) == expected


def test_render_size_without_multi_crop_fits_the_long_side() -> None:
    assert render_size(2048, 1024, FORMATTED) == (1024, 512)
    assert render_size(100, 512, FORMATTED) == (200, 1024)
    assert render_size(1, 5000, FORMATTED) == (1, 1024)


def test_pdf_metadata_is_lower_cased_flat_and_dated() -> None:
    metadata = pdf_metadata(
        {
            "format": "PDF 1.7",
            "title": " Report ",
            "creationDate": "D:20240102030405+01'00'",
            "modDate": "D:20240102",
            "encryption": "AES",
            "trapped": None,
        }
    )
    assert metadata == {
        "creationdate": "2024-01-02T03:04:05+01:00",
        "creator": "",
        "producer": "",
        "format": "PDF 1.7",
        "title": "Report",
        "moddate": "2024-01-02T00:00:00",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D:20240102030405Z", "2024-01-02T03:04:05+00:00"),
        ("D:20240102030405+01", "2024-01-02T03:04:05+01:00"),
        ("D:20241231235959-05'30", "2024-12-31T23:59:59-05:30"),
        ("D:2024", "2024-01-01T00:00:00"),
        ("D:20241399", "D:20241399"),
        ("yesterday", "yesterday"),
        ("", ""),
    ],
)
def test_pdf_dates(raw: str, expected: str) -> None:
    assert pdf_date(raw) == expected


def test_pdf_page_labels_come_along() -> None:
    pages = pages_of(make_pdf(0, 3, labels="A-"))
    assert [page.label for page in pages] == ["A-i", "A-ii", "A-iii"]


def test_encrypted_pdf_needs_the_right_password() -> None:
    data = make_pdf(0, 2, password="s3cret", metadata={"title": "Locked"})
    with pytest.raises(PasswordError, match="password=") as info:
        pages_of(data)
    assert info.value.source.startswith("bytes:")
    assert info.value.page is None
    with pytest.raises(PasswordError, match="does not open"):
        pages_of(data, password="wrong")
    pages = pages_of(data, password="s3cret")
    assert [read_colour(page.image) for page in pages] == [(0, 0), (0, 1)]
    assert pages[0].document.metadata["title"] == "Locked"


def test_password_is_ignored_for_unencrypted_pdfs() -> None:
    assert len(pages_of(make_pdf(0, 2), password="unused")) == 2


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"])
def test_each_image_format_is_one_page(image_format: str) -> None:
    (page,) = pages_of(make_image(image_format, 2))
    assert read_colour(page.image) == (2, 0)
    assert page.image.mode == "RGB"
    assert page.document.kind is DocumentKind.IMAGE
    assert page.document.metadata["format"] == image_format
    assert page.document.total_pages == 1


def test_every_tiff_frame_is_a_page_but_a_gif_shows_its_first_frame() -> None:
    tiff = pages_of(make_image("TIFF", 1, frames=3))
    assert [read_colour(page.image) for page in tiff] == [(1, 0), (1, 1), (1, 2)]
    assert tiff[0].document.total_pages == 3
    (gif,) = pages_of(make_image("GIF", 1, frames=3))
    assert read_colour(gif.image) == (1, 0)


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (400, 300)), (6, (300, 400)), (8, (300, 400))]
)
def test_exif_orientation_is_applied(orientation: int, size: tuple[int, int]) -> None:
    (page,) = pages_of(make_image("JPEG", 0, orientation=orientation))
    assert page.image.size == size


def test_large_images_shrink_to_gots_size_small_ones_stay() -> None:
    (large,) = pages_of(make_image("PNG", 0, size=(3000, 1500)))
    assert large.image.size == (1024, 512)
    (small,) = pages_of(make_image("PNG", 0, size=(200, 100)))
    assert small.image.size == (200, 100)
    (jpeg,) = pages_of(make_image("JPEG", 3, size=(4096, 2048)))
    assert jpeg.image.size == (1024, 512)
    assert read_colour(jpeg.image) == (3, 0)
    assert jpeg.document.metadata["image_width"] == 4096  # the file's own size


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16"])
def test_image_modes_become_rgb(mode: str) -> None:
    image_format = "TIFF" if mode in {"CMYK", "I;16"} else "PNG"
    (page,) = pages_of(make_image(image_format, 0, size=(2048, 64), mode=mode))
    assert page.image.mode == "RGB"
    assert page.image.size == (1024, 32)


def test_a_file_that_is_neither_pdf_nor_image_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some text, whatever the extension says")
    with pytest.raises(UnsupportedFormatError, match=r"notes\.pdf: Neither a PDF"):
        pages_of(path)


def test_empty_missing_and_directory_inputs_name_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedFormatError, match=r"empty\.pdf: The file is empty"):
        pages_of(empty)
    with pytest.raises(DocumentNotFoundError, match=r"missing\.pdf: No such file"):
        pages_of(tmp_path / "missing.pdf")
    with pytest.raises(DocumentNotFoundError, match="directory"):
        pages_of(tmp_path)
    assert issubclass(DocumentNotFoundError, FileNotFoundError)


def test_corrupt_pdf_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="Cannot open the PDF"):
        pages_of(b"%PDF-1.7\n" + b"\x00garbage" * 10)


def test_truncated_image_fails_on_its_page_with_the_page_number() -> None:
    data = make_image("PNG", 0, size=(300, 300))
    document = SourceDocument.from_input(data[: len(data) // 2], name="half.png")
    with (
        open_document(document, FORMATTED) as opened,
        pytest.raises(PageRenderError, match=r"half\.png, page 1: Cannot decode") as info,
    ):
        opened.render(0)
    assert info.value.page == 1


def test_text_streams_and_other_objects_are_rejected() -> None:
    with pytest.raises(TypeError, match="binary mode"):
        SourceDocument.from_input(io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path, bytes or a binary file object"):
        SourceDocument.from_input(42)  # type: ignore[arg-type]


def test_document_errors_survive_pickling() -> None:
    import pickle

    error = PasswordError("a.pdf", "locked", page=3)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.source, copy.page, str(copy)) == (
        PasswordError,
        "a.pdf",
        3,
        "a.pdf, page 3: locked",
    )


def test_rendered_pages_are_detached_from_the_closed_file(tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    path.write_bytes(make_image("TIFF", 0, frames=2))
    pages = pages_of(path)
    assert [read_colour(page.image) for page in pages] == [(0, 0), (0, 1)]
    assert isinstance(pages[0].image, Image.Image)


def test_a_camera_mpo_is_one_page() -> None:
    main, preview = Image.new("RGB", (400, 300), (8, 8, 200)), Image.new("RGB", (100, 75))
    buffer = io.BytesIO()
    main.save(buffer, format="MPO", save_all=True, append_images=[preview])
    (page,) = pages_of(buffer.getvalue())
    assert page.image.size == (400, 300)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_truncated_tiff_is_a_document_error_not_a_crash() -> None:
    data = make_image("TIFF", 0, frames=3)
    with pytest.raises(DocumentError):
        pages_of(data[: len(data) // 2])


def test_image_files_are_closed_after_reading(tmp_path: Path) -> None:
    import os

    paths = []
    for index, image_format in enumerate(["JPEG", "BMP", "WEBP", "PNG", "TIFF"]):
        path = tmp_path / f"image{index}.{image_format.lower()}"
        path.write_bytes(make_image(image_format, index))
        paths.append(path)
    before = len(os.listdir("/proc/self/fd"))
    for path in paths:
        pages_of(path)
    assert len(os.listdir("/proc/self/fd")) == before


def test_oversized_images_are_refused_without_touching_warning_filters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warnings

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    filters = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # Pillow's own, 1x-2x
        with pytest.raises(DocumentError, match="suspiciously large"):
            pages_of(make_image("PNG", 0, size=(40, 40)))  # 1600 px: Pillow only warns
        with pytest.raises(DocumentError, match="suspiciously large"):
            pages_of(make_image("PNG", 0, size=(100, 100)))  # Pillow's own error
    assert list(warnings.filters) == filters
