"""Say only what is known (issue 21): a song is judged in the run's domain before any verdict;
outside it the verdict is withheld everywhere, with the reason; the best model is chosen by a
stated rule; compare says what it compared; fans beyond the catalog's range are flagged."""

import json
import re

import numpy as np
import pytest

from core.pretrained.domain import GENRE_TAGS, MIN_REFERENCE_CLIPS, DomainRule, genre_mix
from core.pretrained.musicnn import DEFAULT_MODEL, tag_names
from core.pretrained.similarity import CatalogEmbeddings
from tests.helpers import call_cli, demo_clips, shared_file

REAL = ["battle-epic.ogg", "elf-land.ogg", "main_menu.ogg"]


def _tags(genre: str, rng, count: int) -> np.ndarray:
    """``count`` mean-tag rows whose genre mix leans on ``genre``."""
    tags = rng.uniform(0.01, 0.05, (count, 50))
    tags[:, tag_names(DEFAULT_MODEL).index(genre)] += 0.5
    return tags


def _cluster(centre: np.ndarray, rng, count: int, spread: float = 0.05) -> np.ndarray:
    return centre + spread * rng.standard_normal((count, centre.size))


def test_the_rule_passes_the_catalogs_own_kind_and_withholds_what_is_far_or_of_another_genre():
    rng = np.random.default_rng(0)
    centre = rng.standard_normal(400)
    rule = DomainRule.fit(_cluster(centre, rng, 200), _tags("Hip-Hop", rng, 200), synthetic=False)
    assert rule.similarity_floor > 0.9 and rule.top_genres(1) == ["Hip-Hop"]

    alike = rule.judge(_cluster(centre, rng, 1)[0], _tags("Hip-Hop", rng, 1)[0])
    assert alike.in_domain and alike.reason.startswith("Like the music this run learned from")

    far = rule.judge(rng.standard_normal(400), _tags("Hip-Hop", rng, 1)[0])
    assert not far.in_domain and "nearest training clip" in far.reason and "genre" not in far.reason
    assert "collect" in far.reason and far.nearest_similarity < rule.similarity_floor

    other_genre = rule.judge(_cluster(centre, rng, 1)[0], _tags("classic rock", rng, 1)[0])
    assert not other_genre.in_domain and "genre tags" in other_genre.reason
    assert other_genre.genre_distance > rule.genre_ceiling

    # calibrated on the clips themselves: new clips of the same kind pass at the stated rate
    assert rule.pass_rate(_cluster(centre, rng, 400), _tags("Hip-Hop", rng, 400)) >= 0.95


def test_no_rule_without_enough_clips_and_the_genre_mix_is_a_distribution():
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="clips"):
        DomainRule.fit(rng.standard_normal((MIN_REFERENCE_CLIPS - 1, 400)), _tags("rock", rng, 9), synthetic=True)
    mix = genre_mix(_tags("rock", rng, 3))
    assert mix.shape == (3, len(GENRE_TAGS)) and np.allclose(mix.sum(axis=1), 1.0)


def test_the_demo_runs_rule_lets_its_holdout_through(trained_home):
    """Calibrated on the run's training clips alone, the rule judges the holdout clips it never
    saw: they must get verdicts (docs/scoring.md states the figure on the default demo)."""
    from core.catalog.store import Catalog
    from core.learning.registry import load_run

    with Catalog.open(trained_home) as catalog:
        meta = load_run(trained_home, catalog).meta
    embeddings = CatalogEmbeddings.load(trained_home)
    domain = embeddings.domain(meta.split_members["train"])
    assert domain.rule is not None
    assert embeddings.pass_rate(domain, meta.split_members["holdout"]) >= 0.95


def _song_lines(text: str, name: str) -> list[str]:
    """A song's lines in ``score``'s text output: its numbered line and the indented ones after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\s*\d+\. .*{re.escape(name)}", line))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("       ")), len(lines))
    return lines[start:end]


def test_real_recordings_are_withheld_in_json_and_text_while_demo_clips_get_verdicts(trained_home):
    real = [str(shared_file(f"data/real-audio/{name}")) for name in REAL]
    clips = [str(p) for p in demo_clips(trained_home, 2)]
    scored = json.loads(call_cli("score", *real, *clips, "--json", "--explain", home=trained_home.home).stdout)
    by_file = {row["file"]: row for row in scored}
    for path in real:
        row = by_file[path]
        assert (row["verdict"], row["in_domain"], row["percentile"]) == ("withheld", False, None), path
        assert "unlike the synthetic demo catalog" in row["domain_reason"] and "collect" in row["domain_reason"]
        assert row["synthetic"] is True and row["run"] and row["model"]
        assert 0 <= row["probability"] <= 1  # secondary detail, still there
        assert row["sounds_like_note"] and "far" in row["sounds_like_note"]  # neighbours exist, and are far
        assert row["explanation_stable"] is False and row["regions"] == []
        assert "predicted_popularity" not in row  # what builds on a verdict is withheld with it
    for path in clips:
        row = by_file[path]
        assert (
            row["in_domain"] is True and row["verdict"] in ("popular", "not popular") and row["percentile"] is not None
        )
        assert row["sounds_like_note"] is None
    # songs with a verdict rank first
    assert [row["in_domain"] for row in scored] == sorted((row["in_domain"] for row in scored), reverse=True)

    text = call_cli("score", *real, home=trained_home.home).stdout
    for name in REAL:
        lines = _song_lines(text, name)
        assert "verdict withheld" in lines[0] and "percentile" not in lines[0]
        assert not any(re.search(r"\bpopular\b", line) for line in lines), lines  # no verdict word anywhere


def test_the_best_model_never_has_holdout_accuracy_below_the_majority_baseline(trained_home):
    """An MLP whose probabilities all sit above 0.5 can rank well (high ROC-AUC) while its
    accuracy is that of always saying "popular": it is not crowned."""
    import dataclasses

    from core.catalog.store import Catalog
    from core.learning.registry import Estimate, load_run

    with Catalog.open(trained_home) as catalog:
        meta = load_run(trained_home, catalog).meta
    holdout = meta.metrics["cnn2"]
    majority = max(holdout.positives, holdout.n - holdout.positives) / holdout.n

    def with_figures(model, auc, accuracy):
        return dataclasses.replace(
            meta.metrics[model], roc_auc=Estimate(auc, auc, auc), accuracy=Estimate(accuracy, accuracy, accuracy)
        )

    metrics = {
        **meta.metrics,
        "cnn2": with_figures("cnn2", 0.95, majority - 0.2),  # the highest ROC-AUC, below the baseline
        "musicnn": with_figures("musicnn", 0.7, majority),
    }
    chosen = dataclasses.replace(meta, metrics=metrics)
    assert chosen.best_model == "musicnn" and chosen.best_model_crowned

    nobody = dataclasses.replace(meta, metrics={**metrics, "musicnn": with_figures("musicnn", 0.7, majority - 0.1)})
    assert nobody.best_model == "cnn2" and not nobody.best_model_crowned  # a default to score with, uncrowned
    runs = call_cli("runs", home=trained_home.home).stdout
    assert "the highest holdout ROC-AUC among the models whose holdout accuracy is at least the majority" in runs


def test_fans_beyond_the_catalogs_range_get_an_extrapolation_note(context_home):
    from core.catalog.store import Catalog
    from core.learning.context import given_artist
    from core.learning.popularity import ContextModels
    from core.learning.registry import load_run

    with Catalog.open(context_home) as catalog:
        meta = load_run(context_home, catalog).meta
    on_top = ContextModels.of(meta)
    assert on_top is not None and on_top.fans_range is not None
    low, high = on_top.fans_range
    assert on_top.fans_note(given_artist(None, None, (low + high) / 2)) is None
    note = on_top.fans_note(given_artist(None, None, 50 * high))
    assert note and "beyond the fan counts this run learned from" in note


def test_compare_of_a_trim_says_what_it_left_out_and_that_real_music_is_beyond_the_demo(trained_home, tmp_path):
    """The tour's case: a 40 s trim of a real recording against its whole (51.7 s) self."""
    import soundfile as sf

    from core.audio.decode import load_audio
    from core.config import SAMPLE_RATE

    whole = shared_file("data/real-audio/main_menu.ogg")
    trim = tmp_path / "main_menu 40s.wav"
    sf.write(trim, load_audio(whole)[: 40 * SAMPLE_RATE], SAMPLE_RATE)
    args = ("compare", str(whole), str(trim), "--model", "cnn2", "--samples", "60")
    result = json.loads(call_cli(*args, "--json", home=trained_home.home, check=True).stdout)
    assert result["duration_a_s"] > 50 and result["duration_b_s"] == pytest.approx(40.0, abs=0.05)
    assert result["overlap_s"] == pytest.approx(40.0, abs=0.1) and "s of A had no say" in result["coverage_note"]
    assert result["in_domain"] is False and "unlike" in result["domain_reason"]
    text = call_cli(*args, home=trained_home.home, check=True).stdout
    assert "compared over the 40.0 s both cover" in text and "Both probabilities are extrapolations" in text
