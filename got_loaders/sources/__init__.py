"""Page sources: documents in, rendered pages out.

The first stage of the flow file -> pages -> engine -> framework objects. Nothing here imports
the pipeline, the engine or a framework:

- ``documents``: inputs (a path, bytes, a file object) as ``SourceDocument``;
- ``selection``: ``pages="1-3,7"`` as ``PageSelection``;
- ``pages``: ``Page``, ``DocumentInfo``, the ``PageSource`` contract, render sizes;
- ``pdf`` and ``images``: the two sources (PyMuPDF, Pillow);
- ``text_layer``: a PDF page's text layer, judged and read as blocks (``strategy``);
- ``dispatch``: ``open_document``, which picks the source by the file's content.
"""

from .dispatch import open_document

__all__ = ["open_document"]
