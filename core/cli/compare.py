"""``compare``: two versions of one song scored on the same aligned windows."""

from __future__ import annotations

import argparse
import json

from core.config import settings
from core.progress import Progress
from core.wording import SYNTHETIC_VERDICTS, catalog_label


def compare(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.registry import load_run

    config = settings()
    with Catalog.open(config) as catalog:
        run = load_run(config, catalog, args.run)
    from core.compare import EXPLAIN_SAMPLES, load_versions
    from core.compare import compare as compare_versions
    from core.scoring import scorer_for

    versions = load_versions(args.a, args.b)  # a wrong file is refused before the model loads
    scorer = scorer_for(run, args.model)  # loads TensorFlow: only now
    result = compare_versions(scorer, versions, explain_samples=args.samples or EXPLAIN_SAMPLES).as_dict()
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
    offset = result["offset_s"]
    if abs(offset) < 0.05:
        where = "they start together"
    elif offset > 0:
        where = f"B has {offset:.2f} s more before the common part"
    else:
        where = f"A has {-offset:.2f} s more before the common part"
    start, end = result["best_window"]
    lines = [
        f"A: {result['file_a']}  B: {result['file_b']}: aligned at {result['alignment']:.2f} ({where}).",
        f"Probability A {result['probability_a']:.1%}, B {result['probability_b']:.1%}: "
        f"B - A = {100 * result['difference']:+.1f} points, "
        + ("beyond" if result["beyond_noise"] else "within")
        + f" the model's own noise of {100 * result['noise']:.1f} points ({result['noise_method']}).",
        f"Where the {result['explanation_method']} explanation of the best window ({start:.0f}-{end:.0f} s of A) "
        "changed most, B minus A:",
    ]
    lines += [
        f"  {r['start_s']:.1f}-{r['end_s']:.1f} s, {r['band']}: {r['weight_change']:+.4f}"
        for r in result["regions_changed"]
    ]
    lines += [f"  {note}" for note in result["notes"]]
    return lines
