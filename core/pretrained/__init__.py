"""What Hitlens knows about music beyond its own catalog: musicnn, a tagger pretrained on
real recordings (the Million Song Dataset and MagnaTagATune), run offline from its PyPI
wheel.

- ``musicnn``: the models themselves: 50 tag probabilities and a 200-d embedding for every
  3 s patch of a song.
- ``cache``: per-clip patch outputs of the catalog on disk, keyed by (audio hash, model).
- ``head``: the sixth model, ``musicnn``: a logistic regression on pooled embeddings.
- ``similarity``: "sounds like" (nearest catalog tracks) and the 2-D map of the catalog.
"""
