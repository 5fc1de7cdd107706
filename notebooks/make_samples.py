"""Write the notebooks' sample documents into ``notebooks/samples/``.

- ``paper.pdf``: a born-digital, paper-like PDF of three pages. Page 1 has a title, an
  abstract and an introduction; page 2 the method, with formulas in Unicode math symbols and a
  ruled table; page 3 the results and a conclusion. Under ``strategy="auto"`` pages 1 and 3 are
  read from the text layer and page 2 goes to GOT (math and a table).
- ``scan.pdf``: one scanned page (a grey, slightly skewed, speckled picture of a typed memo,
  with no text layer), which every strategy but ``"text"`` sends to GOT.

Run ``python notebooks/make_samples.py`` to write them again (``--out DIR`` elsewhere). The
files are built from text in this script alone: nothing is downloaded. PDF metadata and ids
are fixed; the scan's JPEG bytes depend on the Pillow build, its picture does not.
"""

from __future__ import annotations

import argparse
import io
import random
from pathlib import Path

import pymupdf
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "samples"

WIDTH, HEIGHT = 612, 792  # US Letter, in points
LEFT, RIGHT = 72, 540
BODY = 10.5
FIXED_DATE = "D:20260301120000Z"

TITLE = "Forecasting Tidal Currents with Sparse Sensor Arrays"
AUTHORS = "Ines Varga, Tomas Lindqvist and Amara Okafor  \u00b7  Northern Marine Energy Lab"

ABSTRACT = (
    "Tidal stream turbines must be scheduled hours ahead, yet the current at each turbine is "
    "measured by only a handful of instruments. We describe a forecasting model that learns "
    "how the flow at unmeasured sites follows the flow at a few measured ones, and we compare "
    "it with the harmonic tables that operators use today."
)
INTRODUCTION = (
    "Harmonic analysis predicts the astronomical tide well, but wind, surge and the wakes of "
    "neighbouring turbines shift the local current by tens of centimetres per second. Dense "
    "arrays of acoustic profilers would resolve these effects, but each instrument costs as "
    "much as a month of the turbine's output, and moorings are lost to storms every winter.",
    "This paper asks how few instruments a site needs. Section 2 describes the model and the "
    "data, Section 3 reports its accuracy, and Section 4 discusses what operators can expect "
    "when they install it.",
)
METHOD = (
    "The model combines the harmonic prediction with a learned correction. For each turbine "
    "it predicts the current as a weighted sum of basis functions of the measured flow, and "
    "the weights are fitted by minimising the squared error over a training month:",
)
FORMULAS = (
    "\u00fb(t) = \u2211\u2096 w\u2096 \u00b7 h\u2096(x(t))",
    "L(w) = \u222b |u(t) \u2212 \u00fb(t)|\u00b2 dt + \u03bb \u2016w\u2016\u00b2",
)
TABLE_CAPTION = "Table 1: Instruments and data used in each configuration."
TABLE = (
    ("Configuration", "Buoys", "Profilers", "Months"),
    ("Dense baseline", "48", "12", "14"),
    ("Sparse", "14", "3", "14"),
    ("Minimal", "6", "1", "14"),
)
RESULTS = (
    "Across the fourteen buoys of the sparse array in the Pentland Firth, the learned "
    "correction cut the mean forecast error of the current speed from 0.42 to 0.26 metres per "
    "second, a reduction of 38 percent against the harmonic tables, at a six hour horizon.",
    "The dense baseline, with more than three times as many instruments, did only slightly "
    "better at 0.24 metres per second, while the minimal array of six buoys lost most of the "
    "gain during spring tides, when wakes reach furthest downstream.",
)
CONCLUSION = (
    "A sparse array of about a dozen buoys recovers nearly all the accuracy of a dense one. "
    "Operators can therefore spend their budget on keeping a few moorings alive through the "
    "winter rather than on many instruments that the storms will take."
)
MEMO = (
    "FIELD INSPECTION MEMO",
    "",
    "To: Operations, Northern Marine Energy Lab",
    "From: Site team, Pentland Firth array",
    "Date: 12 March 2026",
    "",
    "Buoy 7 was found adrift on 9 March after its mooring chain",
    "parted. It was recovered intact and redeployed on 11 March.",
    "The next scheduled inspection of all fourteen buoys is on",
    "20 April 2026. Please replace the batteries of buoys 3 and 11",
    "before that date; their voltage fell below 11.8 volts.",
)


def _heading(page: pymupdf.Page, y: float, text: str, size: float = 13) -> float:
    page.insert_text((LEFT, y), text, fontsize=size, fontname="hebo")
    return y + size + 10


def _paragraph(page: pymupdf.Page, y: float, text: str) -> float:
    """Justified body text starting at baseline ``y``; returns the baseline after it."""
    box = pymupdf.Rect(LEFT, y - BODY, RIGHT, HEIGHT - 72)
    left_over = page.insert_textbox(box, text, fontsize=BODY, fontname="tiro", align=3)
    used = box.height - left_over
    return y + used + 8


def _page_number(page: pymupdf.Page, number: int) -> None:
    page.insert_text((WIDTH / 2 - 3, HEIGHT - 40), str(number), fontsize=9, fontname="tiro")


def _first_page(page: pymupdf.Page) -> None:
    y = _heading(page, 96, TITLE, size=18)
    page.insert_text((LEFT, y + 4), AUTHORS, fontsize=10, fontname="tiro")
    y = _heading(page, y + 44, "Abstract", size=12)
    y = _paragraph(page, y, ABSTRACT)
    y = _heading(page, y + 16, "1 Introduction")
    for text in INTRODUCTION:
        y = _paragraph(page, y, text)
    _page_number(page, 1)


def _method_page(page: pymupdf.Page) -> None:
    y = _heading(page, 84, "2 Method")
    for text in METHOD:
        y = _paragraph(page, y, text)
    # MuPDF's own CJK font carries the math symbols the base-14 fonts lack (subset on save).
    writer = pymupdf.TextWriter(page.rect)
    font = pymupdf.Font("cjk")
    for formula in FORMULAS:
        y += 8
        writer.append((LEFT + 60, y), formula, font=font, fontsize=12)
        y += 18
    writer.write_text(page)
    y = _paragraph(page, y + 16, "Table 1 lists the three configurations we compare.")
    y += 8
    columns = (LEFT, LEFT + 150, LEFT + 250, LEFT + 350, LEFT + 440)
    row_height = 20
    for row in range(len(TABLE) + 1):
        line_y = y + row * row_height
        page.draw_line((columns[0], line_y), (columns[-1], line_y), width=0.6)
    for x in columns:
        page.draw_line((x, y), (x, y + len(TABLE) * row_height), width=0.6)
    for row, values in enumerate(TABLE):
        font_name = "hebo" if row == 0 else "tiro"
        for column, value in enumerate(values):
            origin = (columns[column] + 5, y + row * row_height + 14)
            page.insert_text(origin, value, fontsize=BODY, fontname=font_name)
    y += len(TABLE) * row_height + 18
    page.insert_text((LEFT, y), TABLE_CAPTION, fontsize=9.5, fontname="tiro")
    _page_number(page, 2)


def _results_page(page: pymupdf.Page) -> None:
    y = _heading(page, 84, "3 Results")
    for text in RESULTS:
        y = _paragraph(page, y, text)
    y = _heading(page, y + 16, "4 Conclusion")
    _paragraph(page, y, CONCLUSION)
    _page_number(page, 3)


def paper_pdf() -> bytes:
    """The born-digital paper: three pages, text layer throughout."""
    pdf = pymupdf.open()
    for build in (_first_page, _method_page, _results_page):
        build(pdf.new_page(width=WIDTH, height=HEIGHT))
    pdf.set_metadata(
        {
            "title": TITLE,
            "author": "I. Varga, T. Lindqvist, A. Okafor",
            "creator": "got-loaders notebooks/make_samples.py",
            "producer": "PyMuPDF",
            "creationDate": FIXED_DATE,
            "modDate": FIXED_DATE,
        }
    )
    pdf.subset_fonts()
    return _pdf_bytes(pdf)


def _memo_picture(dpi: int = 110) -> Image.Image:
    """The memo typed on a page, photographed: grey, skewed by half a degree, speckled."""
    typed = pymupdf.open()
    page = typed.new_page(width=WIDTH, height=HEIGHT)
    y = 110.0
    for line in MEMO:
        bold = line.isupper()
        page.insert_text((LEFT + 8, y), line, fontsize=13 if bold else 11.5, fontname="cour")
        y += 22 if bold else 18
    pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    picture = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
    typed.close()
    picture = picture.rotate(0.5, resample=Image.Resampling.BICUBIC, fillcolor=255)
    rng = random.Random(7)
    pixels = picture.load()
    assert pixels is not None
    for _ in range(picture.width * picture.height // 400):
        x, y_ = rng.randrange(picture.width), rng.randrange(picture.height)
        pixels[x, y_] = rng.randrange(90, 200)
    # Paper is never white in a scan.
    return picture.point(lambda value: 40 + value * 200 // 255).filter(ImageFilter.SMOOTH)


def scan_pdf() -> bytes:
    """One scanned page: a JPEG picture filling the page, and no text layer."""
    buffer = io.BytesIO()
    _memo_picture().save(buffer, format="JPEG", quality=55, optimize=True)
    pdf = pymupdf.open()
    page = pdf.new_page(width=WIDTH, height=HEIGHT)
    page.insert_image(page.rect, stream=buffer.getvalue())
    pdf.set_metadata(
        {
            "title": "Field inspection memo (scan)",
            "creator": "got-loaders notebooks/make_samples.py",
            "producer": "PyMuPDF",
            "creationDate": FIXED_DATE,
            "modDate": FIXED_DATE,
        }
    )
    return _pdf_bytes(pdf)


def _pdf_bytes(pdf: pymupdf.Document) -> bytes:
    data = pdf.tobytes(garbage=4, deflate=True, no_new_id=True)
    pdf.close()
    return data


def write_samples(out: Path = SAMPLES) -> list[Path]:
    """Write ``paper.pdf`` and ``scan.pdf`` into ``out`` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in (("paper.pdf", paper_pdf), ("scan.pdf", scan_pdf)):
        path = out / name
        path.write_bytes(build())
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLES, help="folder to write into")
    for path in write_samples(parser.parse_args().out):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
