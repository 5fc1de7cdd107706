"""Outputs that are not text at all: sheet music, molecules, charts, geometry.

For these GOT writes one whole output in another notation (Humdrum ``**kern``, SMILES, a
chart dict, TikZ); Markdown cannot say more about them than a fenced code block that
names the notation, so renderers and users can pick the right tool.
"""

from __future__ import annotations

import json
import re

from .blocks import Code

# Atoms: the organic subset, aromatic atoms, or a bracket atom ([nH], [C@@H], [O-], [13CH3]).
_ATOM = (
    r"Cl|Br|[BCNOPSFI]|[bcnops]"
    r"|\[\d*(?:[A-Z][a-z]?|[bcnops]|se|as)(?:@@?)?(?:H\d?)?(?:[+-]\d*)?(?::\d+)?\]"
)
_SMILES = re.compile(rf"(?:{_ATOM}|[-=#$:/\\.()%0-9@+*])+")
_ATOMS = re.compile(_ATOM)
_SMILES_TAGGED = re.compile(r"\s*<smiles>(.*?)</smiles>\s*", re.DOTALL)
_CHART_KEYS = frozenset(["title", "source", "x_title", "y_title", "values"])


def special_content(text: str) -> Code | None:
    """The whole output as one code block when it is music, a molecule or a chart."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped.startswith("**kern") or stripped.startswith("**ekern"):
        return Code(stripped, "kern")
    tagged = _SMILES_TAGGED.fullmatch(stripped)
    if tagged:
        return Code(tagged.group(1).strip(), "smiles")
    if _is_bare_smiles(stripped):
        return Code(stripped, "smiles")
    if stripped.startswith("{") and stripped.endswith("}") and _is_chart(stripped):
        return Code(stripped, "json")
    return None


def _is_bare_smiles(text: str) -> bool:
    # A single token in SMILES' alphabet with some chemistry in it (a bond, a branch, a
    # bracket atom or a ring closure) next to an atom: plain words and numbers do not pass.
    if len(text) < 4 or any(c.isspace() for c in text) or not _SMILES.fullmatch(text):
        return False
    if len(_ATOMS.findall(text)) < 2:
        return False
    return any(c in "=#()[]@" for c in text) or any(c.isdigit() for c in text)


def _is_chart(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and len(_CHART_KEYS & value.keys()) >= 2
