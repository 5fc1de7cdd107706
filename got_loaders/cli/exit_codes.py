"""The exit statuses of ``got-ocr``."""

EXIT_OK = 0
EXIT_FAILED = 1  # some file or page failed; the rest were converted
EXIT_USAGE = 2  # bad arguments (argparse's own code)
EXIT_INTERRUPTED = 130
