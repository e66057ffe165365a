"""An artist's songs: scoring with the active run (``scoring``), explaining a verdict
(``explain``), comparing two versions (``compare``) and the kept uploads (``uploads``).

The names below are re-exported lazily (``lazy_loader``, as librosa does): importing the
package loads none of its modules, so ``python -m core --help`` stays light."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__, submod_attrs={"scoring": ["Scorer", "score_many", "scorer_for"]}
)
