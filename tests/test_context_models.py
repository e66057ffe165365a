"""The models on top of the audio verdict, in a run: the audio + context classifier and the
popularity regression (issue 14), from training to scoring."""

import numpy as np
import pytest

from core.catalog.store import Catalog
from core.config import Settings
from core.demo.build import track_records
from core.demo.plan import FAN_RULE, plan_catalog
from core.errors import UsageError
from core.learning.context import UNKNOWN_ARTIST, ArtistContext, CatalogContext, given_artist
from core.learning.dataset import labels, modelling_tracks, split_tracks
from core.learning.evaluate import evaluate_model
from core.learning.experiment import fit_models_on_top
from core.learning.popularity import ContextModels
from core.learning.registry import load_run
from core.learning.training import ModelResult
from core.songs.scoring import song_in_context

DEMO_THRESHOLD = 39.0


def _demo_without_audio(settings: Settings, tracks: int) -> tuple[object, dict[str, float]]:
    """The demo catalog's rows (its plan, fans and popularity rule) without rendering audio:
    each song gets a made-up audio hash; and what a fair audio model hears in each song: its
    audio traits' score plus noise (a CNN 2 on the demo reaches a holdout ROC-AUC near 0.75;
    this stand-in, about the same)."""
    plan = plan_catalog(tracks, seed=42)
    hashes = {song.index: f"{song.index:064x}" for song in plan.songs}
    with Catalog.open(settings, create=True) as catalog:
        catalog.replace_tracks(track_records(plan, hashes), meta={"demo": f"tracks={tracks} seed=42"})
    rng = np.random.default_rng(0)
    heard = {hashes[song.index]: song.audio_score + rng.normal(0.0, 0.5) for song in plan.songs}
    return plan, heard


def _shuffled(context: CatalogContext, seed: int) -> CatalogContext:
    """The control: every track gets another track's fans and history, so the context says
    nothing about who released it."""
    tracks = context.tracks.copy()
    columns = ["fans", "earlier_releases", "earlier_median"]
    tracks[columns] = tracks[columns].to_numpy()[np.random.default_rng(seed).permutation(len(tracks))]
    return CatalogContext(tracks, context.scale)


def test_the_demos_fans_lift_audio_plus_context_on_the_song_split_and_a_shuffled_control_does_not(tmp_path):
    settings = Settings(home=tmp_path)
    # Four times the default demo, so the holdout (about 440 tracks) can tell a gain of a few
    # hundredths from noise; the plan alone is drawn (seconds), no audio.
    _, heard = _demo_without_audio(settings, 4800)
    with Catalog.open(settings) as catalog:
        tracks, context = modelling_tracks(catalog), CatalogContext.read(catalog)
    parts = split_tracks(tracks, "song")
    split_labels = {name: labels(part, DEMO_THRESHOLD) for name, part in parts.parts().items()}

    def audio(part) -> list[float]:
        z = np.array([heard[sha] for sha in part["audio_sha256"]])
        return (1 / (1 + np.exp(-2 * (z - 0.6)))).tolist()

    stand_in = ModelResult(
        "cnn2",
        train_probabilities=audio(parts.train),
        test_probabilities=audio(parts.test),
        holdout_probabilities=audio(parts.holdout),
    )

    def fit(with_context: CatalogContext) -> tuple[dict, dict]:
        metrics = {
            "cnn2": evaluate_model(
                split_labels["holdout"],
                stand_in.holdout_probabilities,
                split_labels["test"],
                stand_in.test_probabilities,
                resamples=200,
            )
        }
        entries = fit_models_on_top(
            ["cnn2", "context", "regression"],
            {"cnn2": stand_in},
            metrics,
            {},
            parts,
            split_labels,
            with_context,
            resamples=200,
        )
        return metrics, entries

    metrics, entries = fit(context)
    gain = entries["context_gain"]
    # The paired interval of the gain (both models on each resample) lies above zero...
    assert gain["low"] > 0.005, (gain, metrics["cnn2"]["roc_auc"], metrics["context"]["roc_auc"])
    assert metrics["context"]["roc_auc"]["value"] > metrics["cnn2"]["roc_auc"]["value"] + 0.02
    # ...and the written rule explains it: more fans (a larger hidden artist effect) pushes toward popular.
    model = entries["context_model"]
    assert FAN_RULE.effect_weight > 0 and model["linear"]["coef"][model["features"].index("log_fans")] > 0
    assert entries["regression_metrics"]["spearman"] > entries["regression_metrics_audio"]["spearman"]

    # The control: the same pipeline with every track's context moved to another track gains
    # next to nothing, and its whole interval lies below the real gain's.
    control_metrics, control = fit(_shuffled(context, seed=1))
    assert abs(control["context_gain"]["value"]) < 0.01 and control["context_gain"]["high"] < gain["low"]
    assert control_metrics["context"]["roc_auc"]["value"] < metrics["context"]["roc_auc"]["value"] - 0.02


def test_an_artist_now_has_every_dated_release_as_history_and_unknown_names_get_suggestions(use_demo_home):
    with Catalog.open(use_demo_home) as catalog:
        context = CatalogContext.read(catalog)
    name = context.artists()[0]
    rows = context.tracks[context.tracks["artist"] == name]
    artist = context.artist(name.upper())  # any case
    assert artist.name == name and artist.fans == rows["fans"].iloc[0] > 0
    assert artist.earlier_releases == rows["release_date"].notna().sum()
    assert artist.earlier_median == pytest.approx(rows["popularity"].median())
    with pytest.raises(UsageError, match=f"Did you mean '{name}'"):
        context.artist(name[:-1] + "#")
    with pytest.raises(UsageError, match="not both"):
        given_artist(context, name, 10.0)
    with pytest.raises(UsageError, match="cannot be -5"):
        given_artist(context, None, -5.0)
    assert given_artist(context, None, None) is UNKNOWN_ARTIST and not UNKNOWN_ARTIST.known
    assert given_artist(None, None, 0.0) == ArtistContext(fans=0.0)


def test_a_run_keeps_its_models_on_top_and_scores_a_song_with_and_without_its_artist(context_home, trained_home):
    with Catalog.open(context_home) as catalog:
        meta = load_run(context_home, catalog).meta
        context = CatalogContext.read(catalog)
    assert meta.models == ("dummy", "musicnn") and meta.context_audio_model == "musicnn"
    assert set(meta.metrics["context"].__dict__) == set(meta.metrics["musicnn"].__dict__)
    assert meta.context_model is not None and "has_history" in meta.context_model["features"]  # random split
    assert meta.popularity_model is not None and meta.regression_metrics is not None
    assert meta.reference_probabilities["context"] and meta.context_gain is not None
    on_top = ContextModels.of(meta)
    assert on_top is not None and on_top.classifier is not None and on_top.calibration is not None

    alone = song_in_context(on_top, 0.6, UNKNOWN_ARTIST)
    assert alone.chance_with_context is None and "audio only" in alone.context
    predicted = alone.predicted_popularity
    assert predicted is not None and not predicted.with_context and predicted.scale == "spotify"
    assert 0 <= predicted.low <= predicted.value <= predicted.high <= 100

    artist = context.artist(context.artists()[0])
    known = song_in_context(on_top, 0.6, artist)
    chance, known_predicted = known.chance_with_context, known.predicted_popularity
    assert chance is not None and known_predicted is not None
    assert 0 <= chance.probability <= 1 and known_predicted.with_context
    assert "verdict_with_context" not in known.as_dict() and artist.name in chance.difference  # no second verdict
    assert f"{0.6:.0%}" not in chance.difference  # nor the feeding model's probability beside the verdict's
    without_fans = ArtistContext(fans=None, earlier_releases=3, earlier_median=40.0, name="Somebody")
    with pytest.raises(UsageError, match="no fan count for Somebody"):  # every demo artist had fans
        song_in_context(on_top, 0.6, without_fans)

    with Catalog.open(trained_home) as catalog:  # a run from before these models: nothing on top
        old = load_run(trained_home, catalog).meta
    assert old.context_audio_model is None and ContextModels.of(old) is None and "context" not in old.metrics
