"""A corpus of bad inputs, built in code: what an unattended run over real-world files meets.

Each ``BadInput`` makes its bytes on demand (nothing is downloaded, the whole corpus builds in
a fraction of a second and takes a few MB on disk) and names the suffix to save it under,
deliberately wrong for the wrong-extension cases. Bombs are built from hand-made deflate
streams (``zlib_repeat``: 13 bits per 258 bytes of a repeated pattern, written by repetition),
so a gigabyte of pixels costs milliseconds to make and a few KB to store. ``GOOD_PDF`` is a
valid control document, to check that a run over the corpus still reads what it can.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .samples import make_image, make_pdf

ENCRYPTED_PASSWORD = "s3cret"
"""The user password of the encrypted PDFs (``BadInput.password``)."""


@dataclass(frozen=True)
class BadInput:
    """One bad input.

    Attributes:
        id: a short name, unique in ``CORPUS``; the file is saved as ``id + suffix``.
        description: what is wrong with it, in one line.
        make: builds its bytes.
        suffix: the extension to save it under (deliberately wrong for some).
        password: the right password, for encrypted PDFs.
    """

    id: str
    description: str
    make: Callable[[], bytes]
    suffix: str
    password: str | None = None

    @property
    def file_name(self) -> str:
        return self.id + self.suffix

    def write(self, directory: Path) -> Path:
        """Save it in ``directory`` under ``file_name``; return the path."""
        path = directory / self.file_name
        path.write_bytes(self.make())
        return path


def write_corpus(directory: Path, entries: Sequence[BadInput] | None = None) -> list[Path]:
    """Save every entry (default: ``CORPUS``) in ``directory``; return the paths in order."""
    directory.mkdir(parents=True, exist_ok=True)
    return [entry.write(directory) for entry in (CORPUS if entries is None else entries)]


# -- deflate streams of a repeated pattern, made without compressing anything -------------


class _BitWriter:
    """Deflate's bit order: values LSB first, Huffman codes MSB first."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._bits = 0

    def put(self, value: int, count: int) -> None:
        self._acc |= value << self._bits
        self._bits += count
        while self._bits >= 8:
            self.out.append(self._acc & 0xFF)
            self._acc >>= 8
            self._bits -= 8

    def code(self, code: int, count: int) -> None:
        self.put(int(format(code, f"0{count}b")[::-1], 2), count)

    def finish(self) -> bytes:
        if self._bits:
            self.out.append(self._acc & 0xFF)
        return bytes(self.out)


_LENGTH_BASES: tuple[int, ...] = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    13,
    15,
    17,
    19,
    23,
    27,
    31,
    35,
    43,
    51,
    59,
    67,
    83,
)
_LENGTH_BASES += (99, 115, 131, 163, 195, 227)
_LENGTH_EXTRA = (0,) * 8 + (1,) * 4 + (2,) * 4 + (3,) * 4 + (4,) * 4 + (5,) * 4
_DISTANCE_BASES = (1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257)
_DISTANCE_EXTRA = (0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7)


def _deflate_repeat(pattern: bytes, count: int) -> bytes:
    """A raw deflate stream (one fixed-Huffman block) of ``pattern * count``.

    The pattern is written once as literals, the rest as 258-byte copies from ``len(pattern)``
    back: 8 copies fill whole bytes, so after the first few the output is one byte string
    repeated, and no byte of the inflated data is ever produced here.
    """
    assert 1 <= len(pattern) <= 256
    assert count >= 1
    writer = _BitWriter()
    writer.put(1, 1)  # BFINAL
    writer.put(1, 2)  # BTYPE 01: fixed Huffman codes

    def literal(byte: int) -> None:
        if byte < 144:
            writer.code(0x30 + byte, 8)
        else:
            writer.code(0x190 + byte - 144, 9)

    def copy(length: int) -> None:
        if length == 258:
            writer.code(0xC0 + 5, 8)  # length code 285
        else:
            index = max(i for i, base in enumerate(_LENGTH_BASES) if base <= length)
            code = 257 + index
            if code < 280:
                writer.code(code - 256, 7)
            else:
                writer.code(0xC0 + code - 280, 8)
            writer.put(length - _LENGTH_BASES[index], _LENGTH_EXTRA[index])
        distance = len(pattern)
        index = max(i for i, base in enumerate(_DISTANCE_BASES) if base <= distance)
        writer.code(index, 5)
        writer.put(distance - _DISTANCE_BASES[index], _DISTANCE_EXTRA[index])

    for byte in pattern:
        literal(byte)
    copies, rest = divmod(len(pattern) * (count - 1), 258)
    blocks, singles = divmod(copies, 8)  # 8 copies take a whole number of bytes
    if blocks >= 3:
        for _ in range(8):
            copy(258)
        start = len(writer.out)
        for _ in range(8):  # from here on every 8 copies write the same bytes
            copy(258)
        writer.out += bytes(writer.out[start:]) * (blocks - 2)
    else:
        singles += 8 * blocks
    for _ in range(singles):
        copy(258)
    if rest >= 3:
        copy(rest)
    else:  # the last one or two bytes of the repeated pattern
        for byte in (pattern * 2)[len(pattern) * 2 - rest :]:
            literal(byte)
    writer.code(0, 7)  # end of block
    return writer.finish()


def _adler32_repeat(pattern: bytes, count: int) -> int:
    """zlib.adler32(pattern * count), by doubling (zlib's adler32_combine)."""

    def combine(first: int, second: int, second_length: int) -> int:
        low = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % 65521
        high = (first >> 16) + (second >> 16) + second_length * (first & 0xFFFF) - second_length
        return (high % 65521) << 16 | low

    result, piece, length = 1, zlib.adler32(pattern), len(pattern)
    while count:
        if count & 1:
            result = combine(result, piece, length)
        piece, length, count = combine(piece, piece, length), 2 * length, count >> 1
    return result


def zlib_repeat(pattern: bytes, count: int) -> bytes:
    """A zlib stream that inflates to ``pattern * count`` (for one byte, about 1:160)."""
    checksum = _adler32_repeat(pattern, count)
    return b"\x78\x01" + _deflate_repeat(pattern, count) + checksum.to_bytes(4, "big")


# -- hand-written PDFs ------------------------------------------------------------------------


def _stream(entries: bytes, data: bytes) -> bytes:
    return b"<<" + entries + b" /Length %d>>\nstream\n" % len(data) + data + b"\nendstream"


def _pdf(
    objects: Sequence[bytes], trailer: bytes = b"/Root 1 0 R", version: bytes = b"1.7"
) -> bytes:
    """A PDF of ``objects`` (numbered from 1) with a correct xref table."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


_HELVETICA = b"<</F1 <</Type /Font /Subtype /Type1 /BaseFont /Helvetica>>>>"
_FONT = b"/Resources <</Font " + _HELVETICA + b">>"


def _text(line: str) -> bytes:
    return b"BT /F1 24 Tf 72 700 Td (%s) Tj ET" % line.encode("latin-1")


def _one_page_pdf(
    content: bytes,
    *,
    media_box: bytes = b"[0 0 612 792]",
    page_extra: bytes = b"",
    catalog_extra: bytes = b"",
    content_entries: bytes = b"",
    contents: bytes = b"4 0 R",
    resources: bytes = b"",
    extra_objects: Sequence[bytes] = (),
) -> bytes:
    """Catalog 1, pages 2, page 3, content 4, then ``extra_objects`` from 5 on."""
    return _pdf(
        [
            b"<</Type /Catalog /Pages 2 0 R" + catalog_extra + b">>",
            b"<</Type /Pages /Kids [3 0 R] /Count 1>>",
            b"<</Type /Page /Parent 2 0 R /MediaBox "
            + media_box
            + b" /Contents "
            + contents
            + b" /Resources <</Font "
            + _HELVETICA
            + resources
            + b">>"
            + page_extra
            + b">>",
            _stream(content_entries, content),
            *extra_objects,
        ]
    )


def _zero_pages() -> bytes:
    return _pdf([b"<</Type /Catalog /Pages 2 0 R>>", b"<</Type /Pages /Kids [] /Count 0>>"])


def _count_lies(count: int = 1_000_000_000) -> bytes:
    return _pdf(
        [
            b"<</Type /Catalog /Pages 2 0 R>>",
            b"<</Type /Pages /Kids [3 0 R] /Count %d>>" % count,
            b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " + _FONT + b">>",
            _stream(b"", _text("The one real page")),
        ]
    )


def _tree_cycle() -> bytes:
    return _pdf(
        [
            b"<</Type /Catalog /Pages 2 0 R>>",
            b"<</Type /Pages /Kids [3 0 R 2 0 R] /Count 2>>",  # the second kid is itself
            b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " + _FONT + b">>",
            _stream(b"", _text("Page before the cycle")),
        ]
    )


def _deep_tree(depth: int = 5000) -> bytes:
    objects = [b"<</Type /Catalog /Pages 2 0 R>>"]
    for level in range(depth):  # objects 2 .. depth+1 are nested /Pages nodes
        number = 2 + level
        parent = b"" if level == 0 else b" /Parent %d 0 R" % (number - 1)
        objects.append(b"<</Type /Pages /Kids [%d 0 R] /Count 1%s>>" % (number + 1, parent))
    page = depth + 2
    objects.append(
        b"<</Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R %s>>"
        % (page - 1, page + 1, _FONT)
    )
    objects.append(_stream(b"", _text("Page at the bottom of a deep tree")))
    return _pdf(objects)


def _missing_page_object() -> bytes:
    return _pdf(
        [
            b"<</Type /Catalog /Pages 2 0 R>>",
            b"<</Type /Pages /Kids [3 0 R 9 0 R 5 0 R] /Count 3>>",  # object 9 does not exist
            b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " + _FONT + b">>",
            _stream(b"", _text("Page 1 of 3 (page 2 is missing)")),
            b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R " + _FONT + b">>",
            _stream(b"", _text("Page 3 of 3")),
        ]
    )


def _garbage_content() -> bytes:
    noise = random.Random(7).randbytes(4000)
    half_valid = b"q 1 0 0 cm BT /F9 Tf ( Tj ] >> ET Q Q Q 9 9 9 9 9 re f* W n sh /Nope Do EI BI "
    return _pdf(
        [
            b"<</Type /Catalog /Pages 2 0 R>>",
            b"<</Type /Pages /Kids [3 0 R 5 0 R] /Count 2>>",
            b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " + _FONT + b">>",
            _stream(b"", half_valid + noise),
            b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R " + _FONT + b">>",
            _stream(b" /Filter /FlateDecode", noise),  # claims Flate, is not
        ]
    )


def _odd_boxes() -> bytes:
    def page(box: bytes, extra: bytes, content: int) -> bytes:
        return b"<</Type /Page /Parent 2 0 R /MediaBox %s /Contents %d 0 R %s%s>>" % (
            box,
            content,
            _FONT,
            extra,
        )

    return _pdf(
        [
            b"<</Type /Catalog /Pages 2 0 R>>",
            b"<</Type /Pages /Kids [3 0 R 5 0 R 6 0 R 7 0 R] /Count 4>>",
            page(b"[612 792 0 0]", b"", 4),  # inverted corners
            _stream(b"", _text("Odd page boxes")),
            page(b"[0 0 612 792]", b" /Rotate 45", 4),  # not a multiple of 90
            page(b"[-5000 -5000 -4388 -4208]", b" /CropBox [0 0 10 10]", 4),  # crop outside
            page(b"[0 0 612]", b"", 4),  # three numbers
        ]
    )


def _image_bomb_pdf(width: int, height: int, gray_1bit: bool) -> bytes:
    if gray_1bit:  # 1-bit DeviceGray, zeros, drawn white through /Decode [1 0]
        raw = zlib_repeat(b"\x00", (width + 7) // 8 * height)
        colour = b"/ColorSpace /DeviceGray /BitsPerComponent 1 /Decode [1 0]"
    else:
        raw = zlib_repeat(b"\xff", width * 3 * height)
        colour = b"/ColorSpace /DeviceRGB /BitsPerComponent 8"
    image = _stream(
        b"/Type /XObject /Subtype /Image /Width %d /Height %d %s" % (width, height, colour)
        + b" /Filter [/FlateDecode /FlateDecode]",
        zlib.compress(raw),
    )
    return _one_page_pdf(
        b"q 612 0 0 792 0 0 cm /Im0 Do Q " + _text("An image bomb under this text"),
        resources=b" /XObject <</Im0 5 0 R>>",
        extra_objects=[image],
    )


def _content_bomb() -> bytes:
    spaces = zlib.compress(zlib_repeat(b" ", 300_000_000))  # 300 MB of whitespace
    return _one_page_pdf(
        spaces,
        content_entries=b"/Filter [/FlateDecode /FlateDecode]",
        contents=b"[5 0 R 4 0 R]",
        extra_objects=[_stream(b"", _text("Text before the bomb"))],
    )


def _many_ops() -> bytes:
    rectangles = zlib_repeat(b"1 1 2 2 re f\n", 1_000_000)  # a million tiny filled rectangles
    return _one_page_pdf(rectangles, content_entries=b"/Filter /FlateDecode")


def _actions() -> bytes:
    return _one_page_pdf(
        _text("This PDF runs JavaScript and launches a program when opened"),
        catalog_extra=b" /OpenAction <</S /JavaScript /JS (app.alert\\('opened'\\);)>>",
        page_extra=b" /AA <</O <</S /Launch /F (calc.exe) /Win <</F (calc.exe)>>>>>>",
    )


def _xfa_only() -> bytes:
    xfa = (
        b'<?xml version="1.0"?><xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/">'
        b"<template><subform><field name='a'/></subform></template></xdp:xdp>"
    )
    return _one_page_pdf(
        _text("Please wait... If this message is not eventually replaced by the proper"),
        catalog_extra=b" /AcroForm <</Fields [] /XFA 5 0 R>> /NeedsRendering true",
        extra_objects=[_stream(b"", xfa)],
    )


def _broken_xref() -> bytes:
    data = make_pdf(0, 2)
    start = data.rindex(b"\nxref\n") + 1
    head, table = data[:start], data[start:]
    lines = table.split(b"\n")
    broken = [
        b"0000099999" + line[10:] if line.endswith(b" n ") else line for line in lines
    ]  # every in-use offset points past the end
    table = b"\n".join(broken)
    end = table.rindex(b"startxref\n") + len(b"startxref\n")
    return head + table[:end] + b"12\n%%EOF\n"  # startxref is wrong too


def _truncated_xref_stream() -> bytes:
    import pymupdf

    pdf = pymupdf.open(stream=make_pdf(0, 3), filetype="pdf")
    data: bytes = pdf.tobytes(use_objstms=1, deflate=True)
    pdf.close()
    return data[: int(len(data) * 0.8)]


def _encrypted(owner_only: bool = False) -> bytes:
    import pymupdf

    pdf = pymupdf.open(stream=make_pdf(0, 2), filetype="pdf")
    data: bytes = pdf.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        user_pw="" if owner_only else ENCRYPTED_PASSWORD,
        owner_pw=ENCRYPTED_PASSWORD + "-owner",
        permissions=0 if owner_only else -1,
    )
    pdf.close()
    return data


def _junk(size: int, seed: int) -> bytes:
    data = random.Random(seed).randbytes(size)
    assert b"%PDF-" not in data
    return data


# -- hand-written images ------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _png_zeros(width: int, height: int, bit_depth: int, colour_type: int, channels: int) -> bytes:
    """A valid PNG, all zero (filter bytes included), of the full declared size."""
    row = 1 + (width * channels * bit_depth + 7) // 8
    return _png(width, height, bit_depth, colour_type, zlib_repeat(b"\x00", row * height))


def _png_bomb_declared() -> bytes:
    # Declares 100000 x 100000 1-bit pixels; the data holds only the first 64 rows.
    return _png(100_000, 100_000, 1, 0, zlib_repeat(b"\x00", 64 * (1 + 12_500)))


def _png_with_pdf_marker() -> bytes:
    png = make_image("PNG", 1)
    text = _png_chunk(b"tEXt", b"Comment\x00exported from %PDF-1.7 scan.pdf by a scanner")
    return png[:33] + text + png[33:]  # right after IHDR, within the first 1024 bytes


def _jpeg_bomb_declared() -> bytes:
    # A valid tiny JPEG whose SOF0 frame size is rewritten to 65000 x 65000.
    data = bytearray(make_image("JPEG", size=(16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)
    return bytes(data)


def _jpeg_garbage_exif() -> bytes:
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + b"\xff\xff" + random.Random(3).randbytes(200)
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    jpeg = make_image("JPEG", 2)
    return jpeg[:2] + app1 + jpeg[2:]


def _save(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _noise(size: tuple[int, int], seed: int) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def _mode_image(mode: str, image_format: str, **options: object) -> bytes:
    base = Image.linear_gradient("L").resize((400, 300))
    if mode == "I;16":
        image = Image.frombytes("I;16", base.size, bytes(b for v in base.tobytes() for b in (0, v)))
    elif mode in {"I", "F"}:
        image = base.convert(mode).point(lambda v: v * 1000 if mode == "I" else v / 255)
    elif mode == "P":
        image = base.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        options = {"transparency": 0, **options}
    elif mode in {"RGBA", "LA"}:
        image = base.convert(mode)
        image.putalpha(Image.linear_gradient("L").rotate(90).resize(base.size))
    else:
        image = base.convert(mode)
    return _save(image, image_format, **options)


def _frames(image_format: str, count: int = 3, **options: object) -> bytes:
    frames = [Image.new("RGB", (200, 150), (16 + 8, 16 * page + 8, 200)) for page in range(count)]
    return _save(frames[0], image_format, save_all=True, append_images=frames[1:], **options)


def _tiff_ifd_loop() -> bytes:
    data = bytearray(_save(Image.new("L", (64, 64), 128), "TIFF"))
    assert data[:4] == b"II*\x00"
    first = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, first)[0]
    struct.pack_into("<I", data, first + 2 + 12 * entries, first)  # next IFD: itself
    return bytes(data)


def _gif_zero_size() -> bytes:
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", 0, 0, 0x80, 0, 0)  # 0x0 screen, 2-colour global table
        + b"\x00\x00\x00\xff\xff\xff"
        + b","
        + struct.pack("<HHHHB", 0, 0, 0, 0, 0)  # a 0x0 image
        + b"\x02\x02\x44\x01\x00"
        + b";"
    )


def _eps() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 200 100\n%%EndComments\n"
        b"/Helvetica findfont 24 scalefont setfont 10 40 moveto (EPS text) show showpage\n%%EOF\n"
    )


# -- other files --------------------------------------------------------------------------------


def _zip(files: Sequence[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (name, data) in enumerate(files):
            stored = stored_first and number == 0
            archive.writestr(name, data, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _xps() -> bytes:
    fpage = (
        b'<FixedPage xmlns="http://schemas.microsoft.com/xps/2005/06" Width="816" Height="1056">'
        b'<Path Data="M 10,10 L 400,10 L 400,100 Z" Fill="#FF000000"/></FixedPage>'
    )
    return _zip(
        [
            (
                "[Content_Types].xml",
                b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                b'2006/content-types"><Default Extension="fdseq" ContentType="application/'
                b'vnd.ms-package.xps-fixeddocumentsequence+xml"/><Default Extension="fdoc" '
                b'ContentType="application/vnd.ms-package.xps-fixeddocument+xml"/><Default '
                b'Extension="fpage" ContentType="application/vnd.ms-package.xps-fixedpage+xml"/>'
                b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                b'relationships+xml"/></Types>',
            ),
            (
                "_rels/.rels",
                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                b'relationships"><Relationship Type="http://schemas.microsoft.com/xps/2005/06/'
                b'fixedrepresentation" Target="/FixedDocSeq.fdseq" Id="R0"/></Relationships>',
            ),
            (
                "FixedDocSeq.fdseq",
                b'<FixedDocumentSequence xmlns="http://schemas.microsoft.com/xps/2005/06">'
                b'<DocumentReference Source="/Documents/1/FixedDoc.fdoc"/></FixedDocumentSequence>',
            ),
            (
                "Documents/1/FixedDoc.fdoc",
                b'<FixedDocument xmlns="http://schemas.microsoft.com/xps/2005/06">'
                b'<PageContent Source="/Documents/1/Pages/1.fpage"/></FixedDocument>',
            ),
            ("Documents/1/Pages/1.fpage", fpage),
        ]
    )


def _epub() -> bytes:
    return _zip(
        [
            ("mimetype", b"application/epub+zip"),
            (
                "META-INF/container.xml",
                b'<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
                b'opendocument:xmlns:container"><rootfiles><rootfile full-path="content.opf" '
                b'media-type="application/oebps-package+xml"/></rootfiles></container>',
            ),
            (
                "content.opf",
                b'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
                b'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
                b'<dc:identifier id="id">x</dc:identifier><dc:title>T</dc:title>'
                b"<dc:language>en</dc:language></metadata><manifest>"
                b'<item id="c" href="c.xhtml" media-type="application/xhtml+xml"/></manifest>'
                b'<spine><itemref idref="c"/></spine></package>',
            ),
            (
                "c.xhtml",
                b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>EPUB text</p></body></html>',
            ),
        ],
        stored_first=True,
    )


_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n"
    b"<body><h1>Forbidden</h1><p>You don't have permission to access this resource.</p></body>"
    b"</html>\n"
)
_SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
    b'<text x="10" y="50" font-size="24">SVG text</text></svg>\n'
)


def _good_pdf() -> bytes:
    return make_pdf(0, 1)


# -- the corpus -----------------------------------------------------------------------------------

CORPUS: list[BadInput] = [
    # empty and blank
    BadInput("empty", "a 0-byte file", lambda: b"", ".pdf"),
    BadInput("whitespace", "only spaces, tabs and newlines", lambda: b" \n\t\r\n  \n" * 50, ".pdf"),
    # broken PDFs
    BadInput(
        "pdf_truncated_half",
        "a 3-page PDF cut at 50% (no xref, no trailer, last objects gone)",
        lambda: (lambda d: d[: len(d) // 2])(make_pdf(0, 3)),
        ".pdf",
    ),
    BadInput(
        "pdf_header_line_only", "only the header line `%PDF-1.7\\n`", lambda: b"%PDF-1.7\n", ".pdf"
    ),
    BadInput("pdf_header_only", "exactly `%PDF-` and nothing else", lambda: b"%PDF-", ".pdf"),
    BadInput(
        "pdf_random_after_header",
        "`%PDF-1.7` followed by 20 KB of random bytes",
        lambda: b"%PDF-1.7\n" + random.Random(1).randbytes(20_000),
        ".pdf",
    ),
    BadInput(
        "pdf_broken_xref",
        "intact objects, every xref offset and startxref wrong (MuPDF repairs)",
        _broken_xref,
        ".pdf",
    ),
    BadInput(
        "pdf_xref_stream_truncated",
        "PDF 1.5 object streams + xref stream, last 20% cut off",
        _truncated_xref_stream,
        ".pdf",
    ),
    BadInput(
        "pdf_garbage_content",
        "2 pages: content stream of random bytes; content that claims Flate but is not",
        _garbage_content,
        ".pdf",
    ),
    BadInput(
        "pdf_header_after_500_junk",
        "a valid PDF after 500 bytes of binary junk (header inside the first 1 KB)",
        lambda: _junk(500, 2) + _good_pdf(),
        ".pdf",
    ),
    BadInput(
        "pdf_header_after_2k_junk",
        "a valid PDF after 2000 bytes of binary junk (header past the first 1 KB)",
        lambda: _junk(2000, 4) + _good_pdf(),
        ".pdf",
    ),
    # wrong extensions
    BadInput("pdf_as_png", "a valid 1-page PDF saved as .png", _good_pdf, ".png"),
    BadInput("png_as_pdf", "a valid PNG saved as .pdf", lambda: make_image("PNG", 1), ".pdf"),
    BadInput(
        "html_as_pdf",
        "an HTTP 403 error page saved as .pdf (scraped corpora)",
        lambda: _HTML,
        ".pdf",
    ),
    # encryption
    BadInput(
        "pdf_encrypted_aes256",
        f"AES-256, user password {ENCRYPTED_PASSWORD!r}",
        _encrypted,
        ".pdf",
        password=ENCRYPTED_PASSWORD,
    ),
    BadInput(
        "pdf_encrypted_owner_only",
        "AES-256 with an empty user password and no permissions (opens without one)",
        lambda: _encrypted(owner_only=True),
        ".pdf",
    ),
    # page trees
    BadInput("pdf_zero_pages", "catalog + empty page tree, /Count 0", _zero_pages, ".pdf"),
    BadInput(
        "pdf_count_lies",
        "page tree says /Count 1000000000, has one real kid",
        _count_lies,
        ".pdf",
    ),
    BadInput(
        "pdf_count_lies_small",
        "page tree says /Count 3 (few enough for MuPDF to believe), has one real kid",
        lambda: _count_lies(3),
        ".pdf",
    ),
    BadInput(
        "pdf_tree_cycle",
        "page tree whose second kid is the tree itself, /Count 2",
        _tree_cycle,
        ".pdf",
    ),
    BadInput(
        "pdf_deep_tree",
        "one page under 5000 nested /Pages nodes",
        _deep_tree,
        ".pdf",
    ),
    BadInput(
        "pdf_missing_page_object",
        "3 kids, the second a reference to an object that does not exist",
        _missing_page_object,
        ".pdf",
    ),
    # page sizes
    BadInput(
        "pdf_huge_page",
        "one 200 x 200 inch page (14400 x 14400 pt)",
        lambda: make_pdf(0, 1, size=(14400, 14400)),
        ".pdf",
    ),
    BadInput(
        "pdf_extreme_aspect",
        "one 14400 x 3 pt page",
        lambda: make_pdf(0, 1, size=(14400, 3)),
        ".pdf",
    ),
    BadInput(
        "pdf_vanishing_side",
        "one 40 x 2147483648 pt page: at 1024 px its short side is under 1/1000 px",
        lambda: _one_page_pdf(_text("thin"), media_box=b"[0 0 40 2147483648]"),
        ".pdf",
    ),
    BadInput(
        "pdf_empty_mediabox",
        "one page with /MediaBox [0 0 0 0]",
        lambda: _one_page_pdf(_text("zero"), media_box=b"[0 0 0 0]"),
        ".pdf",
    ),
    BadInput(
        "pdf_odd_page_boxes",
        "4 pages: inverted MediaBox, /Rotate 45, CropBox outside MediaBox, 3-number MediaBox",
        _odd_boxes,
        ".pdf",
    ),
    # bombs
    BadInput(
        "pdf_image_bomb_1bit",
        "a 30000 x 30000 1-bit white image (112 MB raw, double Flate) on a letter page",
        lambda: _image_bomb_pdf(30_000, 30_000, gray_1bit=True),
        ".pdf",
    ),
    BadInput(
        "pdf_image_bomb_rgb",
        "a 20000 x 20000 RGB white image (1.2 GB raw, double Flate) on a letter page",
        lambda: _image_bomb_pdf(20_000, 20_000, gray_1bit=False),
        ".pdf",
    ),
    BadInput(
        "pdf_content_bomb",
        "a page content stream that inflates to 300 MB of spaces (double Flate)",
        _content_bomb,
        ".pdf",
    ),
    BadInput(
        "pdf_many_ops",
        "a page drawing a million tiny filled rectangles (13 MB content)",
        _many_ops,
        ".pdf",
    ),
    BadInput(
        "png_bomb_declared",
        "PNG declaring 100000 x 100000 1-bit pixels, data for 64 rows only",
        _png_bomb_declared,
        ".png",
    ),
    BadInput(
        "png_above_pixel_limit",
        "valid 1-bit PNG of 9500 x 9500 (90.25 M pixels > MAX_IMAGE_PIXELS 89.48 M)",
        lambda: _png_zeros(9500, 9500, 1, 0, 1),
        ".png",
    ),
    BadInput(
        # 9400 x 9400 (just under the limit) took 6-10 s and 1.1 GB per test run; this one
        # takes the same path (decode, flatten the alpha, shrink) at a quarter of the cost.
        "png_large_rgba",
        "valid RGBA PNG of 4800 x 4800 (23 M pixels, under the limit, 92 MB decoded)",
        lambda: _png_zeros(4800, 4800, 8, 6, 4),
        ".png",
    ),
    BadInput(
        "jpeg_bomb_declared",
        "JPEG whose frame header says 65000 x 65000 (16 x 16 of data)",
        _jpeg_bomb_declared,
        ".jpg",
    ),
    # image modes
    BadInput("jpeg_cmyk", "CMYK JPEG", lambda: _mode_image("CMYK", "JPEG"), ".jpg"),
    BadInput("png_i16", "16-bit grayscale PNG (I;16)", lambda: _mode_image("I;16", "PNG"), ".png"),
    BadInput(
        "png_palette_trns",
        "palette PNG with a transparent index",
        lambda: _mode_image("P", "PNG"),
        ".png",
    ),
    BadInput(
        "png_rgba", "RGBA PNG with a gradient alpha", lambda: _mode_image("RGBA", "PNG"), ".png"
    ),
    BadInput("png_la", "grayscale + alpha PNG (LA)", lambda: _mode_image("LA", "PNG"), ".png"),
    BadInput("png_1bit", "1-bit PNG", lambda: _mode_image("1", "PNG"), ".png"),
    BadInput(
        "tiff_float", "32-bit float TIFF (F), values 0..1", lambda: _mode_image("F", "TIFF"), ".tif"
    ),
    BadInput(
        "tiff_int32",
        "32-bit integer TIFF (I), values 0..255000",
        lambda: _mode_image("I", "TIFF"),
        ".tif",
    ),
    BadInput(
        "png_extreme_aspect",
        "a 1 x 200000 pixel PNG",
        lambda: _save(Image.new("L", (1, 200_000), 90), "PNG"),
        ".png",
    ),
    # frames
    BadInput("tiff_multi_frame", "3-frame TIFF (3 pages)", lambda: _frames("TIFF"), ".tif"),
    BadInput(
        "gif_animated",
        "3-frame animated GIF (1 page)",
        lambda: _frames("GIF", duration=100),
        ".gif",
    ),
    BadInput(
        "webp_animated",
        "3-frame animated WebP (1 page)",
        lambda: _frames("WEBP", duration=100),
        ".webp",
    ),
    BadInput("apng", "3-frame APNG (1 page)", lambda: _frames("PNG", duration=100), ".png"),
    BadInput(
        "tiff_ifd_loop", "TIFF whose next-IFD offset points to itself", _tiff_ifd_loop, ".tif"
    ),
    # truncated images
    BadInput(
        "png_truncated",
        "a noisy 300 x 300 PNG cut at 50%",
        lambda: (lambda d: d[: len(d) // 2])(_save(_noise((300, 300), 5), "PNG")),
        ".png",
    ),
    BadInput(
        "jpeg_truncated",
        "a noisy 300 x 300 JPEG cut at 50%",
        lambda: (lambda d: d[: len(d) // 2])(_save(_noise((300, 300), 6), "JPEG")),
        ".jpg",
    ),
    # odd image files
    BadInput(
        "jpeg_exif_orientation_9",
        "JPEG with EXIF orientation 9 (valid values are 1-8)",
        lambda: make_image("JPEG", 2, orientation=9),
        ".jpg",
    ),
    BadInput(
        "jpeg_exif_garbage",
        "JPEG with an APP1 Exif segment of random bytes",
        _jpeg_garbage_exif,
        ".jpg",
    ),
    BadInput(
        "gif_zero_size", "hand-written GIF with a 0 x 0 screen and image", _gif_zero_size, ".gif"
    ),
    BadInput("eps", "an EPS file (Pillow opens it, needs Ghostscript to decode)", _eps, ".eps"),
    BadInput(
        "png_with_pdf_marker",
        "valid PNG with a tEXt chunk containing `%PDF-1.7` in its first 1 KB",
        _png_with_pdf_marker,
        ".png",
    ),
    BadInput(
        "text_with_pdf_marker",
        "a text note that mentions `%PDF-1.4` in its first line",
        lambda: b"Broken upload: the file began with %PDF-1.4 and then stopped.\n" * 3,
        ".txt",
    ),
    # neither PDF nor image
    BadInput(
        "text", "plain UTF-8 text", lambda: "Plain text, not a document. ✓\n".encode() * 20, ".txt"
    ),
    BadInput(
        "zip", "a ZIP archive holding a PDF", lambda: _zip([("inner.pdf", _good_pdf())]), ".zip"
    ),
    BadInput("html", "an HTML page", lambda: _HTML, ".html"),
    BadInput("svg", "an SVG image (Pillow cannot read SVG)", lambda: _SVG, ".svg"),
    BadInput(
        "json", "a JSON document", lambda: b'{"pages": [1, 2, 3], "title": "not a pdf"}\n', ".json"
    ),
    BadInput("xps", "a minimal one-page XPS (MuPDF reads XPS)", _xps, ".xps"),
    BadInput("epub", "a minimal EPUB (MuPDF reads EPUB)", _epub, ".epub"),
    # active content
    BadInput(
        "pdf_js_launch_actions",
        "OpenAction JavaScript and a page-open /Launch action",
        _actions,
        ".pdf",
    ),
    BadInput(
        "pdf_xfa_only",
        "XFA form, /NeedsRendering true, placeholder 'Please wait...' page",
        _xfa_only,
        ".pdf",
    ),
]

GOOD_PDF = BadInput("good", "a valid 1-page PDF (control)", _good_pdf, ".pdf")
"""A valid document, to check a run over the corpus still reads what it can."""
