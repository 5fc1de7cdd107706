"""Bounded-time fuzzing of the Markdown converter and the page sources (see ``fuzz/run.py``)."""
