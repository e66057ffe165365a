"""Whether Hitlens can judge a song at all: is it the kind of music the run learned from?

A model knows the world of the catalog it was trained on. A song from outside that world
still gets a probability, by extrapolation, and no figure measured on the holdout says how
good such a probability is. So before any verdict a song is judged *in domain* for the run
or not, from what musicnn (pretrained on real recordings) hears:

- **nearness**: the cosine similarity of the song's pooled MSD musicnn embedding to the
  nearest clip the run trained on, against how near those clips are to each other. The
  floor is the ``SIMILARITY_PERCENTILE``-th percentile of each training clip's similarity to
  its nearest *other* training clip.
- **genre**: the song's distribution over musicnn's genre tags (``GENRE_TAGS``, each tag's
  mean probability over the song's 3 s patches, normalised to sum to 1) against the training
  clips' mean distribution, as a Jensen-Shannon distance. The ceiling is the
  ``GENRE_PERCENTILE``-th percentile of the training clips' own distances.

Each bound is then widened by ``MARGIN`` times its distance to the median, because the edge of
a catalog of a few dozen clips is only roughly known: judged leave-one-out, the bare
percentiles withheld 4% of a 78-clip demo's own clips and 3% of a 35-clip one's (by up to 0.003
in similarity and 0.14 in genre distance); widened, none. Widened once (a margin of 1.0), a rule
fitted on a 26-clip run of the demo as encoded since 2026-12-06 (lameenc) still withheld one of
its four holdout clips, by 0.001 in genre distance: hence 1.25.

A song is in domain when it passes both. Both bounds are fitted on the run's training clips
alone, so the share of the run's holdout clips (which the rule never saw) that pass says how
often the rule would wrongly withhold a song of the catalog's own kind: ``DomainRule.pass_rate``
measures it, and docs/scoring.md gives it for the default demo (at least 95% is required).

Measured when written: on the default demo's default run (710 training clips) the bounds were
0.964 and 0.47, every one of its 105 holdout clips passed, and the three real orchestral
recordings in ``shared/data/real-audio`` sat at 0.71-0.84 from their nearest training clip
(genre distances 0.33-0.60): all withheld.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import jensenshannon

from core.pretrained.musicnn import DEFAULT_MODEL, tag_names

SIMILARITY_PERCENTILE = 1.0
GENRE_PERCENTILE = 99.0
MARGIN = 1.25  # each bound is widened by this times its own distance to the median (``_widened``)
MIN_REFERENCE_CLIPS = 10  # fewer training clips with embeddings than this: no rule can be fitted
FIT_SAMPLE = 2000  # clips whose nearest other clip sets the floor
FIT_CHUNK = 500
GENRE_TAGS = (
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "dance",
    "alternative rock",
    "jazz",
    "metal",
    "chillout",
    "classic rock",
    "soul",
    "indie rock",
    "electronica",
    "folk",
    "instrumental",
    "punk",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "Hip-Hop",
    "country",
    "easy listening",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "rnb",
    "indie pop",
    "House",
)
COLLECT_ADVICE = (
    "score it against a real catalog of the music you make (Dataset page: Collect real data, "
    "or 'python -m core collect')"
)


def genre_mix(tag_means: np.ndarray) -> np.ndarray:
    """Mean MSD tag probabilities (..., 50) -> the distribution over ``GENRE_TAGS`` (..., genres)."""
    names = tag_names(DEFAULT_MODEL)
    genres = np.asarray(tag_means, dtype=np.float64)[..., [names.index(g) for g in GENRE_TAGS]]
    return genres / np.maximum(genres.sum(axis=-1, keepdims=True), 1e-12)


def _genre_distance(mixes: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2, in [0, 1]) of each row of ``mixes`` to ``centre``."""
    return jensenshannon(mixes, np.broadcast_to(centre, mixes.shape), base=2, axis=-1)


def unit_vectors(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a zero row stays zero), as float64."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _widened(values: np.ndarray, percentile: float) -> float:
    """The ``percentile``-th percentile of ``values``, moved away from their median by
    ``MARGIN`` times its distance to it: the edge of a small catalog is only roughly known."""
    edge, median = np.percentile(values, [percentile, 50.0])
    return float(edge + MARGIN * (edge - median))


def _nearest_other(reference: np.ndarray) -> np.ndarray:
    """Each clip's similarity to its nearest other clip, for up to ``FIT_SAMPLE`` clips drawn
    at random (fixed seed), ``FIT_CHUNK`` rows at a time: memory stays bounded whatever the
    catalog's size."""
    rows = np.random.default_rng(0).permutation(len(reference))[:FIT_SAMPLE]
    nearest = []
    for start in range(0, len(rows), FIT_CHUNK):
        chunk = rows[start : start + FIT_CHUNK]
        similarity = reference[chunk] @ reference.T
        similarity[np.arange(len(chunk)), chunk] = -np.inf  # not itself
        nearest.append(similarity.max(axis=1))
    return np.concatenate(nearest)


@dataclass(frozen=True)
class Applicability:
    """Whether a song is in the run's domain, and why, in one sentence."""

    in_domain: bool
    reason: str
    nearest_similarity: float | None = None
    similarity_floor: float | None = None
    genre_distance: float | None = None
    genre_ceiling: float | None = None

    def as_dict(self) -> dict:
        """The fields ``score --json`` adds to each song."""

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "in_domain": self.in_domain,
            "domain_reason": self.reason,
            "domain_similarity": rounded(self.nearest_similarity),
            "domain_similarity_floor": rounded(self.similarity_floor),
            "domain_genre_distance": rounded(self.genre_distance),
            "domain_genre_ceiling": rounded(self.genre_ceiling),
        }


def unjudged(why: str) -> Applicability:
    """Out of domain because Hitlens cannot tell: ``why`` is the whole sentence."""
    return Applicability(False, why)


@dataclass(frozen=True)
class DomainRule:
    """The rule fitted on one run's training clips (see the module's docstring)."""

    reference: np.ndarray  # (clips, 400) unit vectors of the training clips
    centre: np.ndarray  # the training clips' mean genre mix
    similarity_floor: float
    genre_ceiling: float
    synthetic: bool

    @classmethod
    def fit(cls, vectors: np.ndarray, tag_means: np.ndarray, *, synthetic: bool) -> DomainRule:
        """Fit on distinct clips: ``vectors`` (clips, 400) pooled embeddings and ``tag_means``
        (clips, 50) mean tag probabilities, at least ``MIN_REFERENCE_CLIPS`` of them."""
        if len(vectors) < MIN_REFERENCE_CLIPS:
            raise ValueError(f"a domain rule needs {MIN_REFERENCE_CLIPS} clips, got {len(vectors)}")
        reference = unit_vectors(vectors).astype(np.float32)
        mixes = genre_mix(tag_means)
        centre = mixes.mean(axis=0)
        nearest, distances = _nearest_other(reference), _genre_distance(mixes, centre)
        return cls(
            reference=reference,
            centre=centre,
            similarity_floor=_widened(nearest, SIMILARITY_PERCENTILE),
            genre_ceiling=_widened(distances, GENRE_PERCENTILE),
            synthetic=synthetic,
        )

    @property
    def clips(self) -> int:
        return len(self.reference)

    def near(self, similarity):
        """Whether a nearest-training-clip similarity (or an array of them) reaches the floor."""
        return similarity >= self.similarity_floor

    def alike(self, distance):
        """Whether a genre distance (or an array of them) stays within the ceiling."""
        return distance <= self.genre_ceiling

    def top_genres(self, count: int = 3) -> list[str]:
        return [GENRE_TAGS[i] for i in np.argsort(-self.centre)[:count]]

    def measure(self, pooled: np.ndarray, tag_means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nearest similarity, genre distance) of each row of ``pooled`` / ``tag_means``."""
        songs = unit_vectors(np.atleast_2d(pooled)).astype(np.float32)
        nearest = np.concatenate(
            [(songs[i : i + FIT_CHUNK] @ self.reference.T).max(axis=1) for i in range(0, len(songs), FIT_CHUNK)]
        ).astype(float)
        return nearest, _genre_distance(genre_mix(np.atleast_2d(tag_means)), self.centre)

    def judge(self, pooled: np.ndarray, tag_means: np.ndarray) -> Applicability:
        """The applicability of one song from its pooled embedding and mean tag probabilities."""
        nearest, distance = (float(v[0]) for v in self.measure(pooled, tag_means))
        near, alike = self.near(nearest), self.alike(distance)
        figures = dict(
            nearest_similarity=nearest,
            similarity_floor=self.similarity_floor,
            genre_distance=distance,
            genre_ceiling=self.genre_ceiling,
        )
        if near and alike:
            return Applicability(
                True,
                f"Like the music this run learned from: its nearest training clip is at similarity {nearest:.2f} "
                f"(the run's own clips: {self.similarity_floor:.2f} or more) and its genre tags sit within the "
                "catalog's range.",
                **figures,
            )
        unlike = []
        if not near:
            unlike.append(
                f"its nearest training clip is at similarity {nearest:.2f}, where the run's own clips sit at "
                f"{self.similarity_floor:.2f} or more from their nearest neighbour"
            )
        if not alike:
            unlike.append(
                f"its genre tags are {distance:.2f} from the catalog's mix ({', '.join(self.top_genres())}), "
                f"beyond the {self.genre_ceiling:.2f} its own clips reach"
            )
        kind = "synthetic demo catalog" if self.synthetic else "catalog"
        return Applicability(
            False,
            f"This song is unlike the {kind} this run learned from ({'; '.join(unlike)}), "
            f"so no model of the run can judge it; {COLLECT_ADVICE}.",
            **figures,
        )

    def pass_rate(self, pooled: np.ndarray, tag_means: np.ndarray) -> float | None:
        """The share of clips (rows) the rule calls in domain; None for no rows."""
        if not len(pooled):
            return None
        nearest, distance = self.measure(pooled, tag_means)
        return float(np.mean(self.near(nearest) & self.alike(distance)))


NO_EMBEDDINGS = (
    "Hitlens cannot yet tell whether this song is the kind of music the run learned from, "
    "because the catalog's musicnn embeddings are not computed (set-up computes them; or run "
    "'python -m core embeddings'); score it again once they are."
)
