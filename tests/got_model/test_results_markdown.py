"""Every OCRResult carries its Markdown and blocks, converted by the output format's rules."""

from __future__ import annotations

from got_model import FORMATTED, PLAIN, FinishReason, GOTEngine, OCRResult
from got_model.markdown import BlockKind, convert
from tests.conftest import noise_image


def result(text: str, formatted: bool) -> OCRResult:
    task = FORMATTED if formatted else PLAIN
    return OCRResult(text, FinishReason.STOP, generated_tokens=1, seconds=0.0, task=task)


def test_formatted_results_read_gots_markup() -> None:
    ocr = result("\\section*{Results}\nAccuracy is \\(95 \\%\\).", formatted=True)
    assert ocr.markdown == "## Results\n\nAccuracy is $95 \\%$.\n"
    assert [b.kind for b in ocr.blocks] == [BlockKind.HEADING, BlockKind.PARAGRAPH]
    assert ocr.converted is ocr.converted  # converted once, then kept


def test_plain_results_are_escaped_text() -> None:
    ocr = result("# 1 * 2 | \\section*{x}", formatted=False)
    # Only what Markdown would read as syntax is escaped: "#" at a line's start; a lone "*"
    # between spaces, "|" outside a table and "\s" are text as they stand.
    assert ocr.markdown == "\\# 1 * 2 | \\section*{x}\n"
    assert [b.kind for b in ocr.blocks] == [BlockKind.PARAGRAPH]


def test_cut_off_results_still_convert() -> None:
    ocr = result("\\begin{tabular}{|l|l|}\n\\hline a & b \\\\\n\\hline c &", formatted=True)
    assert [b.kind for b in ocr.blocks] == [BlockKind.TABLE]


def test_engine_results_convert_with_their_own_task(tiny_engine: GOTEngine) -> None:
    image = noise_image(3)
    for task in (PLAIN, FORMATTED):
        ocr = tiny_engine.recognize(image, task)
        assert ocr.markdown == convert(ocr.text, task.output).markdown
