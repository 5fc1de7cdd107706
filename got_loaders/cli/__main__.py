"""``python -m got_loaders.cli``: the ``got-ocr`` command."""

import sys

from . import main

sys.exit(main())
