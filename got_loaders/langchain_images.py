"""``GOTImageBlobParser``: GOT as the image parser of LangChain's own PDF loaders.

Kept apart from ``got_loaders.langchain`` because it subclasses langchain-community's
``BaseImageBlobParser``, and importing langchain-community takes seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from got_model.cache import (
    CacheArgument,
    CacheError,
    ResultCache,
    open_cache,
    recognize_cached,
)
from got_model.engine import OCREngine
from got_model.errors import MissingExtraError, ModelLoadError
from got_model.tasks import OCRRequest, OCRTask

from .content import PageContent, resolve_task, result_text
from .engines import engine_or_default
from .extras import import_extra
from .options import parse_option
from .pipeline import OnError, logger, report_skipped
from .sources.images import prepare_image

import_extra("langchain_community", "GOTImageBlobParser")

from langchain_community.document_loaders.parsers.images import (  # noqa: E402
    BaseImageBlobParser,
)

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_MIN_IMAGE_SIZE = 16


class GOTImageBlobParser(BaseImageBlobParser):
    """Read images with GOT-OCR 2.0 for LangChain's PDF loaders.

    Example:
        >>> PyMuPDFLoader(  # doctest: +SKIP
        ...     "report.pdf", extract_images=True, images_parser=GOTImageBlobParser()
        ... ).load()

    Args:
        engine: the OCR engine; default the shared ``GOTEngine()``.
        task: ``"formatted"`` (default), ``"plain"`` or any ``OCRTask``.
        content: ``"markdown"``, ``"text"`` or ``"raw"``.
        min_image_size: images narrower or shorter than this many pixels (icons, rules,
            bullets) give empty text instead of an OCR call.
        on_error: ``"raise"``, or ``"skip"`` / ``"warn"`` to give an unreadable image empty
            text and go on.
        cache: as in ``GOTPDFLoader``: ``True``, a path or a ``ResultCache`` (default none).
    """

    def __init__(
        self,
        *,
        engine: OCREngine | None = None,
        task: OCRTask | str = "formatted",
        content: PageContent | str = PageContent.MARKDOWN,
        min_image_size: int = DEFAULT_MIN_IMAGE_SIZE,
        on_error: OnError | str = OnError.RAISE,
        cache: CacheArgument = None,
    ) -> None:
        super().__init__()
        self.engine = engine_or_default(engine)
        self.task = resolve_task(task)
        self.content = parse_option(PageContent, content, "content")
        self.min_image_size = min_image_size
        self.on_error = parse_option(OnError, on_error, "on_error")
        self.cache = open_cache(cache)
        self._cache_checked = False

    def _usable_cache(self) -> ResultCache | None:
        """The cache, opened on first use; one that cannot open is dropped with one warning."""
        if self.cache is not None and not self._cache_checked:
            self._cache_checked = True
            try:
                self.cache.open()
            except CacheError as error:
                logger.warning("Result cache off for this parser: %s", error)
                self.cache = None
        return self.cache

    def _analyze_image(self, img: Image.Image) -> str:
        if min(img.size) < self.min_image_size:
            return ""
        try:
            request = OCRRequest((prepare_image(img, self.task),), self.task)
            (result,) = recognize_cached(self.engine, [request], self._usable_cache())
        except (ModelLoadError, MissingExtraError):
            raise
        except Exception as exc:
            if self.on_error is OnError.RAISE:
                raise
            report_skipped(f"an embedded image: {exc}", self.on_error)
            return ""
        return result_text(result, self.content)
