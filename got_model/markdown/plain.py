"""GOT's plain-mode output -> paragraphs of escaped text."""

from __future__ import annotations

import re

from .blocks import MarkdownOutput, Paragraph
from .inline import Text

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


def convert_plain(text: str) -> MarkdownOutput:
    """Split plain OCR text at blank lines; each part is a paragraph shown exactly as written.

    Line breaks inside a paragraph stay in the Markdown source (GOT's visual lines); the
    characters that would turn into Markdown syntax are escaped when rendered.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (part.strip() for part in _PARAGRAPH_BREAK.split(text))
    return MarkdownOutput(tuple(Paragraph((Text(part),)) for part in paragraphs if part))
