"""What a song sounds like, in words and in company: its top tags, tags over time, the
catalog tracks nearest to it, and its place on a 2-D map of the catalog.

Nearness is the cosine similarity of pooled MSD musicnn embeddings (mean and max over 3 s
patches). Every release of one recording shares its audio, so a catalog track's nearest
neighbours start with its other releases at similarity 1.0. The map is a PCA of the same
vectors (fitted on the catalog, so an uploaded song is placed without moving anything).

The same similarity, with musicnn's genre tags, says when a song is unlike the music a run
learned from (``core.pretrained.domain``): such a song gets no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from core.catalog.store import Catalog
from core.config import Settings
from core.learning.dataset import song_groups
from core.pretrained.cache import EmbeddingCache
from core.pretrained.domain import (
    MIN_REFERENCE_CLIPS,
    NO_EMBEDDINGS,
    Applicability,
    DomainRule,
    unit_vectors,
    unjudged,
)
from core.pretrained.musicnn import DEFAULT_MODEL, PATCH_SECONDS, PatchOutputs, tag_names
from core.pretrained.pooled import read_pooled

TOP_TAGS = 10
NEIGHBOURS = 10


@dataclass(frozen=True)
class SongProfile:
    """What MSD musicnn hears in a song."""

    tag_names: list[str]
    patch_tags: np.ndarray  # (patches, 50)
    pooled: np.ndarray  # (400,)

    @classmethod
    def of(cls, outputs: PatchOutputs) -> SongProfile:
        return cls(tag_names(DEFAULT_MODEL), outputs.tags, outputs.pooled())

    @property
    def tag_means(self) -> np.ndarray:
        """Each tag's mean probability over the song's patches."""
        return self.patch_tags.mean(axis=0)

    def top_tags(self, count: int = TOP_TAGS) -> list[dict]:
        """The song's strongest tags: mean probability over its patches, highest first."""
        mean = self.tag_means
        return [{"tag": self.tag_names[i], "probability": round(float(mean[i]), 4)} for i in np.argsort(-mean)[:count]]

    def curves(self, tags: list[str]) -> pd.DataFrame:
        """One row per 3 s patch: its start second and each tag's probability there."""
        frame = pd.DataFrame({"start_s": np.round(np.arange(len(self.patch_tags)) * PATCH_SECONDS, 2)})
        for tag in tags:
            frame[tag] = self.patch_tags[:, self.tag_names.index(tag)].round(4)
        return frame


@dataclass(frozen=True)
class Domain:
    """A run's domain: the rule fitted on its training clips, or None when too few of them
    have embeddings yet (then no song can be judged)."""

    rule: DomainRule | None

    def judge(self, profile: SongProfile) -> Applicability:
        if self.rule is None:
            return unjudged(NO_EMBEDDINGS)
        return self.rule.judge(profile.pooled, profile.tag_means)


@dataclass
class CatalogEmbeddings:
    """The catalog tracks whose clip has a cached embedding, with their pooled vectors."""

    tracks: pd.DataFrame  # track, artist, popularity, audio_sha256, audio_path, song (one id per song), source_id
    vectors: np.ndarray  # (tracks, 400), unit length
    synthetic: bool
    tag_means: np.ndarray | None = None  # (tracks, 50): each clip's mean tag probabilities
    missing: int = 0  # catalog clips without a readable embedding (not computed yet, or set aside as damaged)

    @property
    def missing_note(self) -> str | None:
        """What scoring says when some catalog clips have no readable embedding (none at all is
        said elsewhere: no "sounds like" yet)."""
        if not self.missing or not len(self):
            return None
        return (
            f"{self.missing} catalog clip{'s have' if self.missing != 1 else ' has'} no readable musicnn embedding "
            "(not computed yet, or damaged and set aside): 'python -m core embeddings' computes them. "
            "Sounds like and the catalog's domain do without them until then."
        )

    @classmethod
    def load(cls, settings: Settings, model: str = DEFAULT_MODEL) -> CatalogEmbeddings:
        cache = EmbeddingCache(settings)
        with Catalog.open(settings) as catalog:
            tracks = catalog.tracks()
            synthetic = catalog.synthetic
        tracks = tracks[tracks["audio_sha256"].notna() & tracks["popularity"].notna()]
        clips = tracks["audio_sha256"].unique()
        outputs = read_pooled(cache, clips, model)  # a damaged file is set aside: "sounds like" does without it
        tracks = tracks[tracks["audio_sha256"].isin(outputs)].reset_index(drop=True)
        frame = pd.DataFrame(
            {
                "track": tracks["name"],
                "artist": tracks["artists"],
                "popularity": tracks["popularity"],
                "audio_sha256": tracks["audio_sha256"],
                "audio_path": tracks["audio_path"],
                "song": song_groups(tracks),
                "source_id": tracks["source_id"],
            }
        )
        shas = frame["audio_sha256"]
        vectors = np.stack([outputs[sha][0] for sha in shas]) if len(frame) else np.zeros((0, 400))
        tag_means = np.stack([outputs[sha][1] for sha in shas]) if len(frame) else np.zeros((0, 50))
        return cls(frame, unit_vectors(vectors), synthetic, tag_means, len(clips) - len(outputs))

    def __len__(self) -> int:
        return len(self.tracks)

    def similarities(self, pooled: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``pooled`` to every track's clip."""
        return self.vectors @ unit_vectors(np.asarray(pooled, dtype=np.float64))

    def _clips(self, members: list[str] | None) -> np.ndarray:
        """Row positions of the distinct clips among the tracks whose source id is in
        ``members`` (None: every track)."""
        chosen = (
            np.ones(len(self.tracks), dtype=bool)
            if members is None
            else self.tracks["source_id"].astype(str).isin(members).to_numpy()
        )
        rows = np.flatnonzero(chosen)
        return rows[~self.tracks["audio_sha256"].iloc[rows].duplicated().to_numpy()]

    def domain(self, train_members: list[str] | None) -> Domain:
        """The domain of a run that trained on the tracks ``train_members`` (their source ids;
        None for runs saved before the split's members were: every catalog clip)."""
        clips = self._clips(train_members)
        if len(clips) < MIN_REFERENCE_CLIPS:
            return Domain(None)
        assert self.tag_means is not None, "loaded embeddings carry their tags"
        return Domain(DomainRule.fit(self.vectors[clips], self.tag_means[clips], synthetic=self.synthetic))

    def pass_rate(self, domain: Domain, members: list[str]) -> float | None:
        """The share of the clips of the tracks ``members`` (a run's holdout) in ``domain``."""
        clips = self._clips(members)
        if domain.rule is None or self.tag_means is None:
            return None
        return domain.rule.pass_rate(self.vectors[clips], self.tag_means[clips])

    def nearest(self, pooled: np.ndarray, threshold: float, count: int = NEIGHBOURS) -> list[dict]:
        """The ``count`` songs most similar to ``pooled``, most similar first, each as its
        most similar release (a single and its album version are one song, not two
        neighbours); ``popular`` is that release's popularity at or above ``threshold``."""
        if not len(self):
            return []
        similarity = self.similarities(pooled)
        order = np.argsort(-similarity, kind="stable")
        order = order[~pd.Series(self.tracks["song"].to_numpy()[order]).duplicated().to_numpy()][:count]
        return [
            {
                "track": row.track,
                "artist": row.artist,
                "popularity": float(row.popularity),
                "popular": bool(row.popularity >= threshold),
                "similarity": round(float(similarity[i]), 4),
                "synthetic": self.synthetic,
                "audio_path": row.audio_path,
            }
            for i, row in zip(order, self.tracks.iloc[order].itertuples(index=False), strict=True)
        ]

    def map(self) -> CatalogMap:
        return CatalogMap.fit(self)


@dataclass
class CatalogMap:
    """The catalog in two dimensions (PCA of the unit vectors)."""

    points: pd.DataFrame  # x, y, track, artist, popularity
    pca: PCA

    @classmethod
    def fit(cls, embeddings: CatalogEmbeddings) -> CatalogMap:
        pca = PCA(n_components=2, random_state=0).fit(embeddings.vectors)
        xy = pca.transform(embeddings.vectors)
        points = embeddings.tracks[["track", "artist", "popularity"]].assign(x=xy[:, 0], y=xy[:, 1])
        return cls(points, pca)

    def place(self, pooled: np.ndarray) -> tuple[float, float]:
        x, y = self.pca.transform(unit_vectors(np.asarray(pooled, dtype=np.float64))[None])[0]
        return float(x), float(y)

    @property
    def explained(self) -> float:
        """Share of the embeddings' variance the two axes show."""
        return float(self.pca.explained_variance_ratio_.sum())
