"""What a song sounds like, in words and in company: its top tags, tags over time, the
catalog tracks nearest to it, and its place on a 2-D map of the catalog.

Nearness is the cosine similarity of pooled MSD musicnn embeddings (mean and max over 3 s
patches). Every release of one recording shares its audio, so a catalog track's nearest
neighbours start with its other releases at similarity 1.0. The map is a PCA of the same
vectors (fitted on the catalog, so an uploaded song is placed without moving anything).

The same similarity says when a song is unlike anything the catalog holds (a real song
against the synthetic demo: about 0.7-0.85, where demo clips sit at 0.97 or more from their
nearest neighbour). Every model's verdict on such a song extrapolates, and pages say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from core.catalog import Catalog
from core.config import Settings
from core.dataset import song_groups
from core.pretrained.cache import EmbeddingCache
from core.pretrained.musicnn import DEFAULT_MODEL, PATCH_SECONDS, PatchOutputs, tag_names

TOP_TAGS = 10
NEIGHBOURS = 10
FAMILIAR_PERCENTILE = 1
FAMILIARITY_SAMPLE = 2000


@dataclass(frozen=True)
class SongProfile:
    """What MSD musicnn hears in a song."""

    tag_names: list[str]
    patch_tags: np.ndarray  # (patches, 50)
    pooled: np.ndarray  # (400,)

    @classmethod
    def of(cls, outputs: PatchOutputs) -> SongProfile:
        return cls(tag_names(DEFAULT_MODEL), outputs.tags, outputs.pooled())

    def top_tags(self, count: int = TOP_TAGS) -> list[dict]:
        """The song's strongest tags: mean probability over its patches, highest first."""
        mean = self.patch_tags.mean(axis=0)
        return [{"tag": self.tag_names[i], "probability": round(float(mean[i]), 4)} for i in np.argsort(-mean)[:count]]

    def curves(self, tags: list[str]) -> pd.DataFrame:
        """One row per 3 s patch: its start second and each tag's probability there."""
        frame = pd.DataFrame({"start_s": np.round(np.arange(len(self.patch_tags)) * PATCH_SECONDS, 2)})
        for tag in tags:
            frame[tag] = self.patch_tags[:, self.tag_names.index(tag)].round(4)
        return frame


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


@dataclass
class CatalogEmbeddings:
    """The catalog tracks whose clip has a cached embedding, with their pooled vectors."""

    tracks: pd.DataFrame  # track, artist, popularity, audio_sha256, audio_path, song (one id per song)
    vectors: np.ndarray  # (tracks, 400), unit length
    synthetic: bool

    @classmethod
    def load(cls, settings: Settings, model: str = DEFAULT_MODEL) -> CatalogEmbeddings:
        cache = EmbeddingCache(settings)
        with Catalog.open(settings) as catalog:
            tracks = catalog.tracks()
            synthetic = catalog.synthetic
        tracks = tracks[tracks["audio_sha256"].notna() & tracks["popularity"].notna()]
        pooled = {sha: cache.pooled(sha, model) for sha in tracks["audio_sha256"].unique() if cache.has(sha, model)}
        tracks = tracks[tracks["audio_sha256"].isin(pooled)].reset_index(drop=True)
        frame = pd.DataFrame(
            {
                "track": tracks["name"],
                "artist": tracks["artists"],
                "popularity": tracks["popularity"],
                "audio_sha256": tracks["audio_sha256"],
                "audio_path": tracks["audio_path"],
                "song": song_groups(tracks),
            }
        )
        vectors = np.stack([pooled[sha] for sha in frame["audio_sha256"]]) if len(frame) else np.zeros((0, 400))
        return cls(frame, _normalised(vectors), synthetic)

    def __len__(self) -> int:
        return len(self.tracks)

    def similarities(self, pooled: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``pooled`` to every track's clip."""
        return self.vectors @ _normalised(np.asarray(pooled, dtype=np.float64))

    @cached_property
    def familiar_floor(self) -> float | None:
        """How close a song must be to some catalog clip to count as the kind of music the
        catalog holds: the 1st percentile of each clip's similarity to its nearest *other*
        clip (up to 2,000 clips sampled). None with fewer than two clips."""
        first = ~self.tracks["audio_sha256"].duplicated().to_numpy()
        clips = self.vectors[first]
        if len(clips) < 2:
            return None
        rows = np.random.default_rng(0).permutation(len(clips))[:FAMILIARITY_SAMPLE]
        nearest = []
        for chunk in np.array_split(rows, max(1, len(rows) // 500)):
            similarity = clips[chunk] @ clips.T
            similarity[np.arange(len(chunk)), chunk] = -np.inf  # not itself
            nearest.append(similarity.max(axis=1))
        return float(np.percentile(np.concatenate(nearest), FAMILIAR_PERCENTILE))

    def familiarity(self, pooled: np.ndarray) -> tuple[float | None, bool]:
        """(similarity of the nearest catalog clip, whether that is as near as catalog clips
        are to each other). A song unlike the catalog gets a verdict by extrapolation."""
        if not len(self):
            return None, False
        nearest = float(np.max(self.similarities(pooled)))
        floor = self.familiar_floor
        return round(nearest, 4), floor is None or nearest >= floor

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
        x, y = self.pca.transform(_normalised(np.asarray(pooled, dtype=np.float64))[None])[0]
        return float(x), float(y)

    @property
    def explained(self) -> float:
        """Share of the embeddings' variance the two axes show."""
        return float(self.pca.explained_variance_ratio_.sum())
