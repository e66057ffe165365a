"""Where work runs: process pools on this machine, LiteRT for trained models, a Ray cluster
(``ray_engine``, imported only when chosen), and the silencing of native libraries' start-up lines.

The names below are re-exported lazily (``lazy_loader``, as librosa does): importing the
package loads none of its modules, so ``python -m core --help`` stays light."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__, submod_attrs={"parallel": ["unordered_results", "process_pool", "worker_count"]}
)
