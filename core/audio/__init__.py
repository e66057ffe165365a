"""Audio in: decoding and checking files (``decode``), log-mel spectrograms and their cache
(``features``), frequency bands (``bands``), and the install's warm-up (``warmup``).

The names below are re-exported lazily (``lazy_loader``, as librosa does): importing the
package loads none of its modules, so ``python -m core --help`` stays light."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__, submod_attrs={"decode": ["load_audio"], "features": ["FeatureCache", "log_mel"]}
)
