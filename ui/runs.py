"""Choosing the run songs are scored with: a finished run is shown beside the active one and
becomes active only when the user says so (Train page), and any saved run can be activated
(Holdout page); and the run's model that scores them (Score page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.catalog.store import Catalog
from core.config import Settings
from core.learning.architectures import DISPLAY_NAMES
from core.learning.dataset import SPLITS
from core.learning.registry import BEST_MODEL_RULE, RunMeta, RunSummary, keep_active, run_summaries, set_active
from core.wording import SYNTHETIC_VERDICTS, holdout_auc
from ui import charts, songs, state

if TYPE_CHECKING:
    from core.songs.scoring import Scorer


def summaries(config: Settings) -> list[RunSummary]:
    """The runs that can score (a damaged one is listed by ``python -m core runs``, not offered)."""
    with Catalog.open(config) as catalog:
        return [run for run in run_summaries(config, catalog) if run.damaged is None]


def describe_run(run: RunSummary) -> str:
    """Two lines a person can compare: best model with its interval, split, preset, date."""
    auc = (
        "n/a (one class in the holdout)"
        if run.best_auc is None
        else (f"**{run.best_auc:.2f}** (95% CI {run.best_auc_ci[0]:.2f}-{run.best_auc_ci[1]:.2f})")
    )
    notes = [" · set-up's quick start" if run.quick_start else "", " · synthetic demo" if run.synthetic else ""]
    badge = "best model" if run.best_model_crowned else "no model beats the majority-class baseline; default"
    best = DISPLAY_NAMES.get(run.best_model or "", run.best_model)
    return (
        f"`{run.id}` · trained {run.created[:16].replace('T', ' ')} UTC  \n"
        f"{badge} {best}: holdout ROC-AUC {auc} on {run.holdout_tracks} tracks  \n"
        f"{run.split} split · {run.preset} preset{''.join(notes)}"
    )


def pending_choice(config: Settings) -> None:
    """The newest finished run nobody has chosen or dismissed, beside the active run."""
    runs = summaries(config)
    active = next((r for r in runs if r.active), None)
    pending = next((r for r in runs if not r.decided and not r.active), None)
    if pending is None or active is None:
        return
    st.subheader("A new run finished: which one should score your songs?")
    left, right = st.columns(2)
    left.markdown("**Active now**  \n" + describe_run(active))
    right.markdown("**New run**  \n" + describe_run(pending))
    st.caption(BEST_MODEL_RULE + ".")
    if pending.split != active.split:
        st.caption(
            "The two were judged on different splits, so their AUCs are not directly comparable: a grouped "
            "(song or artist) split is the harder, more honest test."
        )
    use, keep, _ = st.columns([1, 1, 2])
    if use.button("Use the new run for scoring", type="primary", key=f"use-{pending.id}"):
        with Catalog.open(config) as catalog:
            set_active(config, catalog, pending.id)
        st.rerun()
    if keep.button("Keep the current one", key=f"keep-{pending.id}"):
        with Catalog.open(config) as catalog:
            keep_active(catalog, pending.id)
        st.rerun()


def activate_button(config: Settings, run_id: str, active: bool) -> None:
    """On a page showing run ``run_id`` (``active`` from the page's cached run list, so no
    run.json is read): that it is the active run, or a button to make it so."""
    if active:
        st.success("This run is active: new songs are scored with it.")
    elif st.button("Use this run for scoring", key=f"activate-{run_id}"):
        with Catalog.open(config) as catalog:
            set_active(config, catalog, run_id)
        st.rerun()


def scoring_model(home: str, meta: RunMeta) -> tuple[str, Scorer]:
    """The model of the active run ``meta`` that scores songs, chosen in a box (its best model
    until the artist picks another), loaded, with its holdout ROC-AUC and, for a run trained on
    the synthetic demo, what its verdicts are worth."""
    best = meta.best_model
    choices = [m for m in meta.models if m != "dummy"] or list(meta.models)
    if st.session_state.get("score-model") not in choices:  # first visit, or another run became active
        st.session_state["score-model"] = best
    model = st.selectbox(
        "Model",
        choices,
        key="score-model",
        format_func=lambda m: DISPLAY_NAMES[m] + (" (best model)" if m == best and meta.best_model_crowned else ""),
        help="musicnn scores from embeddings pretrained on real recordings; the others learned only from this "
        f"catalog. {BEST_MODEL_RULE}.",
    )
    scorer = songs.scorer(home, meta.id, model)
    st.caption(
        f"{DISPLAY_NAMES[model]}: {holdout_auc(scorer.auc)} on the {meta.split} split's holdout. "
        "0.5 is a coin toss; the study's best real-data model reached 0.65."
    )
    if meta.synthetic:
        st.warning(
            f"**Trained on the synthetic demo catalog.** {SYNTHETIC_VERDICTS} Real recordings are expected to get no "
            "verdict here: they are unlike the demo's synthetic music, and Hitlens says so instead of guessing."
        )
    return model, scorer


def training_settings(run: RunMeta) -> dict[str, tuple[object, str]]:
    """What a run's holdout figures depend on besides its split: each setting's value, and how
    a caption says it. Runs alike in every one differ only in their split."""
    models = ", ".join(DISPLAY_NAMES[m] for m in run.models)
    epochs = "the preset's epochs" if run.epochs_requested is None else charts.plural(run.epochs_requested, "epoch")
    quick = " (set-up's quick start)" if run.quick_start else ""
    return {
        "models": (frozenset(run.models), f"{charts.plural(len(run.models), 'model')} ({models})"),
        "preset": (run.training_preset, f"the {run.training_preset} preset"),
        "epochs": (run.epochs_requested, epochs),
        "catalog": (run.catalog.fingerprint, f"{run.catalog.tracks:,} tracks{quick}"),
        "threshold": (run.threshold.rule, f"the {run.threshold.rule} threshold rule"),
    }


def differences(run: RunMeta, other: RunMeta) -> list[str]:
    """The settings (keys of ``training_settings``) in which ``other`` was trained otherwise than ``run``."""
    mine, theirs = training_settings(run), training_settings(other)
    return [key for key in mine if mine[key][0] != theirs[key][0]]


def runs_trained_alike(
    run: RunMeta, runs: pd.DataFrame, home: str, token: str
) -> tuple[dict[str, RunMeta], dict[str, RunMeta]]:
    """For each split, the latest of ``runs`` (the run list, newest first) trained like ``run``
    (``run`` itself for its own split), in the order of ``SPLITS``; and, for each other split
    without one, its latest run."""
    alike: dict[str, RunMeta] = {run.split: run}
    unlike: dict[str, RunMeta] = {}
    for run_id, split in zip(runs["id"], runs["split"], strict=True):  # newest first
        if split in alike:
            continue
        other = state.run_meta(home, token, run_id)
        if not differences(run, other):
            alike[split] = other
            unlike.pop(split, None)
        else:
            unlike.setdefault(split, other)
    return {split: alike[split] for split in SPLITS if split in alike}, unlike
