"""The dashboard's pages, in one list: ``app.py`` builds its navigation from it and the tests
open pages through it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    file: str  # the script, relative to the repository root
    title: str
    icon: str
    url_path: str


DATASET = PageEntry("pages/dataset.py", "Dataset", "📊", "dataset")
TRAIN = PageEntry("pages/train.py", "Train", "🏋️", "train")
HOLDOUT = PageEntry("pages/holdout.py", "Holdout results", "🎯", "holdout")
SCORE = PageEntry("pages/score.py", "Score a song", "🎤", "score")
PAGES = (DATASET, TRAIN, HOLDOUT, SCORE)
"""In the sidebar's order."""
