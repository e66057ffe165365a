"""Learning from the catalog: the study's architectures, splits and scaling (``dataset``),
training, holdout evaluation with intervals, one run end to end (``experiment``), saved runs
(``registry``), and the models on top: the artist's context and the popularity regression.

The names below are re-exported lazily (``lazy_loader``, as librosa does): importing the
package loads none of its modules, so ``python -m core --help`` stays light."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={"experiment": ["run_experiment"], "registry": ["SavedRun", "load_run"], "training": ["train_models"]},
)
