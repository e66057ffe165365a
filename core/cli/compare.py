"""``compare``: two versions of one song scored on the same aligned windows."""

from __future__ import annotations

import argparse
import json

from core.config import settings
from core.progress import Progress
from core.wording import SYNTHETIC_VERDICTS, catalog_label, noise_verdict, offset_words, popularity_difference


def compare(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog.store import Catalog
    from core.learning.popularity import ContextModels
    from core.learning.registry import load_run

    config = settings()
    with Catalog.open(config) as catalog:
        run = load_run(config, catalog, args.run)
    from core.pretrained.similarity import CatalogEmbeddings
    from core.songs.compare import EXPLAIN_SAMPLES, load_versions
    from core.songs.compare import compare as compare_versions
    from core.songs.scoring import scorer_for

    versions = load_versions(args.a, args.b)  # a wrong file is refused before the model loads
    scorer = scorer_for(run, args.model)  # loads TensorFlow: only now
    on_top = ContextModels.of(run.meta)
    # The regression learned from one audio model's probability: score with it too if another was chosen.
    fed_apart = on_top is not None and on_top.audio_regressor is not None and on_top.audio_model != scorer.model_name
    feeding = scorer_for(run, on_top.audio_model) if on_top is not None and fed_apart else None
    with progress.counter("Comparing", unit="model pass") as on_progress:
        result = compare_versions(
            scorer,
            versions,
            explain_samples=args.samples or EXPLAIN_SAMPLES,
            on_top=on_top,
            feeding=feeding,
            on_progress=on_progress,
            domain=CatalogEmbeddings.load(config).domain(run.meta.split_members.get("train")),
        ).as_dict()
    if args.json:
        print(json.dumps({"run": run.id, **result}, indent=2))
        return 0
    data = catalog_label(run.meta.synthetic, run.meta.catalog.source)
    print(f"Compared with {scorer.model_name} of run {run.id}, trained on {data}.")
    if run.meta.synthetic:
        print(SYNTHETIC_VERDICTS)
    for line in _summary(result):
        print(line)
    return 0


def _summary(result: dict) -> list[str]:
    start, end = result["best_window"]
    lines = [
        f"A: {result['file_a']} ({result['duration_a_s']:.1f} s)  B: {result['file_b']} "
        f"({result['duration_b_s']:.1f} s): aligned at {result['alignment']:.2f} "
        f"({offset_words(result['offset_s'])}); compared over the {result['overlap_s']:.1f} s both cover.",
        *([result["coverage_note"]] if result["coverage_note"] else []),
        *(
            [f"Both probabilities are extrapolations: {result['domain_reason']}"]
            if result["in_domain"] is False
            else []
        ),
        f"Probability A {result['probability_a']:.1%}, B {result['probability_b']:.1%}. {noise_verdict(result)} "
        f"(Noise: {result['noise_method']}.)",
        popularity_difference(result),
        f"Where the {result['explanation_method']} explanation of the best window ({start:.0f}-{end:.0f} s of A) "
        "changed most, B minus A:",
    ]
    lines += [
        f"  {r['start_s']:.1f}-{r['end_s']:.1f} s, {r['band']}: {r['weight_change']:+.4f}"
        for r in result["regions_changed"]
    ]
    lines += [f"  {note}" for note in result["notes"]]
    return lines
