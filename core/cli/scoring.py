"""``score``: verdicts for songs from the command line."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import engine, settings
from core.errors import UsageError
from core.progress import Progress
from core.wording import (
    SYNTHETIC_VERDICTS,
    Verdict,
    catalog_label,
    explanation_stability,
    no_stable_explanation,
    predicted_popularity,
    scale_name,
    with_interval,
)

if TYPE_CHECKING:
    from core.learning.context import ArtistContext
    from core.learning.registry import SavedRun
    from core.pretrained.similarity import CatalogEmbeddings
    from core.songs.scoring import BatchItem


def score(args: argparse.Namespace, progress: Progress) -> int:
    """Exit 0 when every file was scored, 1 when some could not be (each is reported)."""
    from core.catalog.store import Catalog
    from core.learning.popularity import ContextModels
    from core.learning.registry import load_run
    from core.pretrained.similarity import CatalogEmbeddings

    config = settings()
    with Catalog.open(config) as catalog:
        run = load_run(config, catalog, args.run)
        artist = _artist(args, catalog)
    on_top = ContextModels.of(run.meta)
    if artist.known and (on_top is None or on_top.classifier is None):
        raise UsageError(
            f"Run {run.id} has no audio + context model, so --artist and --fans cannot be used with it.",
            "Train a run that has one ('python -m core train'; --models all includes it), or score on audio alone.",
        )
    model = chosen_model(run, args.model)
    request = ScoringRequest(run, model, CatalogEmbeddings.load(config), artist, args.explain, args.samples)
    if engine(args.engine) == "ray":
        from core.engine.ray_engine import score_on_ray

        results = score_on_ray(args.files, request)
    else:
        scorer = FileScorer(request)  # loads TensorFlow: only now
        results = [scorer.result(item) for item in scorer.score([(path, path) for path in args.files])]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_scores(results, run, model, explained=args.explain)
        if request.neighbours.missing_note:
            print(f"note: {request.neighbours.missing_note}")
    return 1 if any("error" in r for r in results) else 0


def chosen_model(run: SavedRun, model: str | None) -> str:
    """The run's model to score with (default: its best), checked before any model loads."""
    name = model or run.meta.best_model
    if name not in run.models:
        raise UsageError(f"Run {run.id} has no model '{name}'.", f"Choose one of: {', '.join(run.models)}.")
    return name


@dataclass(frozen=True)
class ScoringRequest:
    """What scoring any file with a run needs besides the file, read once by the command: it is
    sent as it is to every Ray actor (``core.engine.ray_engine``), so each needs no catalog access."""

    run: SavedRun
    model: str
    neighbours: CatalogEmbeddings
    artist: ArtistContext
    explain: bool
    samples: int


class FileScorer:
    """The run's scorer, the scorer feeding its models on top, and the catalog's domain,
    loaded once; then each file costs only its own work. Both engines score through it, so
    their results are the same."""

    def __init__(self, request: ScoringRequest) -> None:
        from core.learning.popularity import ContextModels
        from core.songs.scoring import scorer_for

        self.request = request
        self.on_top = ContextModels.of(request.run.meta)
        self.scorer = scorer_for(request.run, request.model)
        # The models on top learned from one audio model's probability: score with it too if another was chosen.
        feeding = self.on_top.audio_model if self.on_top is not None else None
        self.feeding = None if feeding in (None, request.model) else scorer_for(request.run, feeding)
        self.domain = request.neighbours.domain(request.run.meta.split_members.get("train"))

    def score(self, files: list[tuple[str, str]]) -> list[BatchItem]:
        """``core.songs.scoring.score_many`` of (name, path) ``files``: ranked, with a bad file as an
        error entry."""
        from core.songs.scoring import score_many

        return score_many(self.scorer, files, self.domain)

    def result(self, item: BatchItem, source: str | None = None) -> dict:
        """One file's entry of ``score --json``; ``source`` is the file's path when its name
        (as the user wrote it) is not, as on a Ray worker, whose working folder is its own."""
        from core.songs.explain import describe
        from core.songs.scoring import describe_song, song_in_context

        if item.score is None:
            return {"file": item.file, "error": item.error}
        run, song, neighbours = self.request.run, item.score, self.request.neighbours
        result = {"run": run.id, "model": self.scorer.model_name, "synthetic": run.meta.synthetic, **song.as_dict()}
        result["catalog_note"] = neighbours.missing_note  # what a damaged cache left out, if anything
        result.update(describe_song(song, neighbours, run.meta.threshold.value))
        if self.on_top is not None and song.in_domain:  # out of domain, what builds on the verdict is withheld with it
            audio = song.probability if self.feeding is None else self.feeding.score(source or item.file).probability
            result.update(song_in_context(self.on_top, audio, self.request.artist).as_dict())
        if self.request.explain:
            result["explanation_stable"] = False
            result["regions"] = []
            result["summary"] = []
            if song.in_domain:  # what drives a guess outside the catalog's world says nothing about the song
                explanation = self.scorer.explain_best_window(song, num_samples=self.request.samples)
                result["explanation_method"] = explanation.method
                result["explanation_stable"] = explanation.stable
                result["stability"] = explanation.stability
                result["regions"] = explanation.regions
                result["summary"] = [describe(c, w) for c, w in explanation.top(+1, 3) + explanation.top(-1, 3)]
        return result


def _artist(args: argparse.Namespace, catalog) -> ArtistContext:
    """The artist of ``--artist NAME`` or ``--fans N`` (checked before any model loads)."""
    from core.learning.context import CatalogContext, given_artist

    context = CatalogContext.read(catalog) if args.artist is not None and args.fans is None else None
    return given_artist(context, args.artist, args.fans)


def _print_scores(results: list[dict], run, model: str, *, explained: bool) -> None:
    auc = run.meta.metrics[model].roc_auc
    data = catalog_label(run.meta.synthetic, run.meta.catalog.source)
    print(
        f"Scored with {model} of run {run.id} "
        f"(holdout ROC-AUC {with_interval(auc.value, [auc.low, auc.high], 2)}, "
        f"{run.meta.split} split), trained on {data}."
    )
    if run.meta.synthetic:
        print(SYNTHETIC_VERDICTS)
    for rank, result in enumerate(results, 1):
        name = printable(result["file"])
        if "error" in result:
            print(f"  -  {name}: {result['error']}")
            continue
        start, end = result["best_window"]
        if result["verdict"] == Verdict.WITHHELD:
            print(f"{rank:>3}. {name}: verdict withheld. {result['domain_reason']}")
            print(f"       the model's raw probability, not a verdict: {result['probability']:.0%}; no percentile")
        else:
            percentile = "" if result["percentile"] is None else f", {ordinal(round(result['percentile']))} percentile"
            print(
                f"{rank:>3}. {name}: {result['verdict']} ({result['probability']:.0%}{percentile}); "
                f"best 30 s: {start:.0f}-{end:.0f} s"
            )
        if result["note"]:
            print(f"       {result['note']}")
        print("       sounds like: " + ", ".join(f"{t['tag']} {t['probability']:.0%}" for t in result["tags"][:5]))
        if result["nearest_similarity"] is None:
            print("       no catalog embeddings yet ('python -m core embeddings'): no similar catalog tracks to show")
        elif result["sounds_like_note"]:
            nearest = result["sounds_like"][0]
            print(
                f"       nearest catalog track: {printable(nearest['track'])} by {printable(nearest['artist'])} "
                f"at similarity {nearest['similarity']:.2f}. {result['sounds_like_note']}"
            )
        else:
            share = result["sounds_like_popular_share"]
            nearest = result["sounds_like"][0]
            synthetic = " (synthetic demo)" if nearest["synthetic"] else ""
            print(
                f"       nearest catalog track{synthetic}: {printable(nearest['track'])} by "
                f"{printable(nearest['artist'])} (similarity {nearest['similarity']:.2f}); "
                f"{share:.0%} of the {len(result['sounds_like'])} nearest are popular"
            )
        if explained:
            for line in _explanation_lines(result):
                print(f"       {line}")
        for line in _context_lines(result, run.meta.threshold.scale):
            print(f"       {line}")


def _explanation_lines(result: dict) -> list[str]:
    """What ``score --explain`` prints: the stability, then the stable findings or why none."""
    if result["verdict"] == Verdict.WITHHELD:
        return [
            "no explanation: the verdict is withheld, and what moves a guess outside the catalog's world "
            "says nothing about the song"
        ]
    method = result["explanation_method"]
    lines = [f"explanation ({method}): {explanation_stability(result['stability'], method)}"]
    if not result["explanation_stable"]:
        return [*lines, no_stable_explanation(method)]
    return [*lines, *result["summary"]]


def _context_lines(result: dict, scale: str | None) -> list[str]:
    """The verdict with the artist's context and the predicted popularity (runs that have them)."""
    if "context" not in result:
        return []
    lines = []
    if "probability_with_context" in result:
        lines.append(
            f"another question, the chance for this artist's release (audio + context model): "
            f"{result['probability_with_context']:.0%}. " + result["context_difference"]
        )
    else:
        lines.append("audio only: no artist given (--artist NAME for a catalog artist, or --fans N for another).")
    if result.get("fans_note"):
        lines.append(result["fans_note"])
    if result["predicted_popularity"] is not None:
        from core.learning.popularity import PredictedPopularity  # loaded already: scoring read the run's models on top

        prediction = PredictedPopularity(**result["predicted_popularity"])
        basis = "with the artist's context" if prediction.with_context else "artist unknown: no fans, no history"
        lines.append(f"{predicted_popularity(prediction)} ({scale_name(prediction.scale)}; {basis})")
    return lines


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def printable(text: str) -> str:
    """A file or track name as the terminal should show it: control characters (escape codes,
    newlines) written as escapes, so a name cannot fake a result line or colour the screen."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
