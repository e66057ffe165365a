"""The scored-songs history: kept in the catalog, one row per content, run and model."""

from core.catalog.history import record_score, scored_songs
from core.catalog.store import Catalog


def _result(name, probability, in_domain=True):
    return {
        "file": name,
        "verdict": ("popular" if probability >= 0.5 else "not popular") if in_domain else "withheld",
        "in_domain": in_domain,
        "domain_reason": "Like the music this run learned from." if in_domain else "Unlike the catalog.",
        "probability": probability,
        "percentile": 50.0 if in_domain else None,
        "best_window": [5.0, 35.0],
        "duration_s": 180.0,
    }


def test_a_withheld_song_is_kept_as_withheld_without_a_percentile(home):
    with Catalog.open(home, create=True) as catalog:
        record_score(
            catalog, run_id="run-a", model="cnn2", sha256="d" * 64, result=_result("orchestra.ogg", 0.9, False)
        )
        row = scored_songs(catalog).iloc[0]
    assert (row["verdict"], row["percentile"], row["in_domain"]) == ("withheld", None, False)


def test_scores_are_kept_once_per_content_run_and_model_and_found_by_name(home):
    with Catalog.open(home, create=True) as catalog:
        record_score(catalog, run_id="run-a", model="cnn2", sha256="a" * 64, result=_result("song mix 1.wav", 0.7))
        record_score(catalog, run_id="run-a", model="cnn2", sha256="a" * 64, result=_result("song mix 1.wav", 0.7))
        record_score(catalog, run_id="run-a", model="musicnn", sha256="a" * 64, result=_result("song mix 1.wav", 0.6))
        record_score(catalog, run_id="run-a", model="cnn2", sha256="b" * 64, result=_result("song mix 2.wav", 0.4))
        record_score(catalog, run_id="run-a", model="cnn2", sha256="c" * 64, result=_result("other.mp3", 0.2))
    with Catalog.open(home) as catalog:  # a later session
        everything = scored_songs(catalog)
        mixes = scored_songs(catalog, "MIX")
    assert len(everything) == 4
    assert sorted(mixes["file"]) == ["song mix 1.wav", "song mix 1.wav", "song mix 2.wav"]
    row = mixes[(mixes["model"] == "cnn2") & (mixes["file"] == "song mix 2.wav")].iloc[0]
    assert (row["verdict"], row["probability"], row["best_window"], row["run"]) == (
        "not popular",
        0.4,
        "5-35 s",
        "run-a",
    )
