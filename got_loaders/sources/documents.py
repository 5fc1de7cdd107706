"""Inputs: a path, bytes or a binary file object, named for metadata and error messages."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

from got_loaders.errors import DocumentError, DocumentNotFoundError

DocumentInput = Union[
    str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, "SourceDocument"
]
"""What loaders accept as one document."""


@dataclass(frozen=True, repr=False)
class SourceDocument:
    """One document to read: a file on disk (read lazily) or bytes already in memory.

    Attributes:
        name: how metadata and errors refer to it: the path as given, the file object's
            name, or ``bytes:<first 12 hex digits of its SHA-256>``.
        path: the file, when the input is one.
        data: the bytes, when the input is not a file on disk.
    """

    name: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def from_input(cls, value: DocumentInput, *, name: str | None = None) -> SourceDocument:
        """Normalise any accepted input; a file object is read to the end once, here."""
        if isinstance(value, SourceDocument):
            return value
        if isinstance(value, (str, os.PathLike)):
            path = Path(value)
            return cls(name=name or str(value), path=path)
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            return cls(name=name or _content_name(data), data=data)
        read = getattr(value, "read", None)
        if read is None:
            raise TypeError(
                "A document is a path, bytes or a binary file object, "
                f"not a {type(value).__name__}."
            )
        data = read()
        if not isinstance(data, bytes):
            raise TypeError(f"{value!r} is a text stream: open the file in binary mode ('rb').")
        file_name = getattr(value, "name", None)
        return cls(
            name=name or (file_name if isinstance(file_name, str) else _content_name(data)),
            data=data,
        )

    @property
    def file_path(self) -> str | None:
        """The path as a string, or None for in-memory data."""
        return None if self.path is None else str(self.path)

    def head(self, size: int = 1024) -> bytes:
        """The first ``size`` bytes, to recognise the format.

        Raises:
            DocumentError: if the file cannot be read.
        """
        if self.data is not None:
            return self.data[:size]
        assert self.path is not None
        try:
            with self.path.open("rb") as file:
                return file.read(size)
        except FileNotFoundError:
            raise DocumentNotFoundError(self.name, "No such file.") from None
        except IsADirectoryError:
            raise DocumentNotFoundError(
                self.name, "This is a directory: pass the files in it, or use GenericLoader."
            ) from None
        except OSError as exc:
            raise DocumentError(self.name, f"Cannot read the file: {exc.strerror or exc}.") from exc

    def stream(self) -> BinaryIO:
        """A binary stream over the document (the open file, or the bytes)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def __repr__(self) -> str:
        return f"SourceDocument({self.name!r})"


def _content_name(data: bytes) -> str:
    return f"bytes:{hashlib.sha256(data).hexdigest()[:12]}"
