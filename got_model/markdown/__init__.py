"""GOT output -> CommonMark + GFM Markdown and typed blocks (pure Python, no frameworks).

``convert(text, OutputFormat.FORMATTED)`` reads GOT's Mathpix-style markup (``\\section*``,
``tabular``, ``\\( \\)``...); ``OutputFormat.PLAIN`` text is split into paragraphs and
escaped. Both return a ``MarkdownOutput``: ``.blocks`` for adapters that need structure,
``.markdown`` for everything else. Conversion never raises.
"""

from __future__ import annotations

from got_model.tasks import OutputFormat

from .blocks import (
    Alignment,
    Block,
    BlockKind,
    Code,
    Footnote,
    Formula,
    Heading,
    ListItem,
    MarkdownOutput,
    Paragraph,
    Table,
    TableCell,
)
from .escape import escape_markdown
from .formatted import convert_formatted
from .inline import (
    Emphasis,
    FootnoteRef,
    Inline,
    InlineCode,
    LineBreak,
    Link,
    Math,
    Strong,
    Text,
)
from .plain import convert_plain


def convert(text: str, output: OutputFormat = OutputFormat.FORMATTED) -> MarkdownOutput:
    """Convert one GOT output, read as the given output format (an ``OutputFormat`` or its
    value, ``"plain"`` / ``"formatted"``)."""
    if OutputFormat(output) is OutputFormat.PLAIN:
        return convert_plain(text)
    return convert_formatted(text)


def to_markdown(text: str, output: OutputFormat = OutputFormat.FORMATTED) -> str:
    """Shorthand for ``convert(text, output).markdown``."""
    return convert(text, output).markdown


__all__ = [
    "Alignment",
    "Block",
    "BlockKind",
    "Code",
    "Emphasis",
    "Footnote",
    "FootnoteRef",
    "Formula",
    "Heading",
    "Inline",
    "InlineCode",
    "LineBreak",
    "Link",
    "ListItem",
    "MarkdownOutput",
    "Math",
    "Paragraph",
    "Strong",
    "Table",
    "TableCell",
    "Text",
    "convert",
    "convert_formatted",
    "convert_plain",
    "escape_markdown",
    "to_markdown",
]
