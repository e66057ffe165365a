"""Benchmarks (``python -m core bench ...``): speed targets live here, not in tests.

One module per benchmark: ``features``, ``training``, ``scoring``, ``embeddings``, ``scale`` (the
local engine beside the Ray engine), and the
dashboard's ``pages`` and ``uploads``. ``clips`` picks the demo clips the first four run on;
``dashboard`` starts the dashboard server and waits on its pages in Chromium for the last two.
"""

from core.bench.embeddings import bench_embeddings
from core.bench.features import bench_features, study_route
from core.bench.pages import bench_pages
from core.bench.scoring import bench_score
from core.bench.training import bench_train
from core.bench.uploads import bench_uploads

__all__ = [
    "bench_embeddings",
    "bench_features",
    "bench_pages",
    "bench_score",
    "bench_train",
    "bench_uploads",
    "study_route",
]
