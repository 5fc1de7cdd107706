"""Import an optional integration's package, or say exactly which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from got_model.errors import MissingExtraError

# module -> the got-loaders extra that installs it
EXTRA_FOR_MODULE = {
    "langchain_core": "langchain",
    "langchain_community": "langchain",
    "llama_index.core": "llamaindex",
    "unstructured": "unstructured",
    "ray": "ray",
}


def import_extra(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``; raise MissingExtraError naming the pip command if absent.

    Adapters call this inside the code path that needs the framework, never at import time.
    """
    extra = EXTRA_FOR_MODULE.get(module) or EXTRA_FOR_MODULE.get(module.split(".")[0], "all")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(feature, extra, module) from exc
