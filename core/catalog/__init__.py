"""The catalog: SQLite with its versioned schema (``database``), tracks read and written
(``store``, ``track_writer``), duplicates (``dedup``), popularity history (``history``) and the
Dataset page's queries (``explore``).

The names below are re-exported lazily (``lazy_loader``, as librosa does): importing the
package loads none of its modules, so ``python -m core --help`` stays light."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={"store": ["Catalog"]})
