"""The model report: one self-contained HTML file with inline SVG charts (opens offline).

Drawn from a model's metadata alone (the model card stores its curves), so a report can be
regenerated at any time without the training data: ROC and PR curves against the baselines,
the reliability plot, lift by decile and feature importance, plus the card itself.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from wedsync_success.churn.schemas import CARD_METRICS

SERIES = (("model", "LightGBM (calibrated)", "#1f5fbf"), ("logistic", "Logistic", "#d98c1f"))
HEALTH = ("health_score", "Health score", "#7a7a7a")


def _svg(draw: Callable[[Axes], None], *, width: float = 5.2, height: float = 3.8) -> str:
    with plt.rc_context({"svg.hashsalt": "wedsync", "font.size": 9}):
        fig, ax = plt.subplots(figsize=(width, height))
        try:
            draw(ax)
            fig.tight_layout()
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _series(metadata: dict[str, Any]) -> list[tuple[str, str, str]]:
    series = list(SERIES)
    if "health_score" in metadata.get("curves", {}):
        series.append(HEALTH)
    return series


def _roc(metadata: dict[str, Any]) -> Callable[[Axes], None]:
    def draw(ax: Axes) -> None:
        for key, label, colour in _series(metadata):
            roc = metadata["curves"].get(key, {}).get("roc")
            auc = metadata["metrics"].get(key, {}).get("roc_auc")
            if roc:
                ax.plot(roc["fpr"], roc["tpr"], color=colour, label=f"{label} (AUC {auc:.3f})")
        ax.plot([0, 1], [0, 1], color="#cccccc", linestyle="--", linewidth=1)
        ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve")
        ax.legend(loc="lower right", fontsize=8)

    return draw


def _pr(metadata: dict[str, Any]) -> Callable[[Axes], None]:
    def draw(ax: Axes) -> None:
        for key, label, colour in _series(metadata):
            pr = metadata["curves"].get(key, {}).get("pr")
            auc = metadata["metrics"].get(key, {}).get("pr_auc")
            if pr:
                ax.plot(
                    pr["recall"], pr["precision"], color=colour, label=f"{label} (AP {auc:.3f})"
                )
        base = metadata["metrics"]["model"].get("base_rate") or 0.0
        ax.axhline(base, color="#cccccc", linestyle="--", linewidth=1, label="Churn rate")
        ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curve", ylim=(0, 1))
        ax.legend(loc="upper right", fontsize=8)

    return draw


def _reliability(metadata: dict[str, Any]) -> Callable[[Axes], None]:
    table = metadata["curves"]["model"]["reliability"]

    def draw(ax: Axes) -> None:
        top = max([*table["predicted"], *table["observed"], 0.05]) * 1.1
        ax.plot([0, top], [0, top], color="#cccccc", linestyle="--", linewidth=1)
        ax.plot(table["predicted"], table["observed"], marker="o", color=SERIES[0][2])
        for p, o, n in zip(table["predicted"], table["observed"], table["count"], strict=True):
            ax.annotate(f"{n}", (p, o), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ece = metadata["metrics"]["model"].get("ece")
        ax.set(
            xlabel="Mean predicted probability",
            ylabel="Observed churn rate",
            title=f"Reliability (ECE {ece:.3f}; labels = rows per bin)",
            xlim=(0, top),
            ylim=(0, top),
        )

    return draw


def _lift(metadata: dict[str, Any]) -> Callable[[Axes], None]:
    lift = metadata["curves"]["model"]["lift"]

    def draw(ax: Axes) -> None:
        deciles = [d["decile"] for d in lift]
        values = [d["lift"] or 0.0 for d in lift]
        ax.bar(deciles, values, color=SERIES[0][2])
        ax.axhline(1.0, color="#888888", linestyle="--", linewidth=1)
        ax.set(
            xlabel="Decile (1 = highest predicted risk)",
            ylabel="Lift (churn rate / average)",
            title="Lift by decile",
            xticks=deciles,
        )

    return draw


def _importance(metadata: dict[str, Any]) -> Callable[[Axes], None]:
    items = list(metadata["importance"].items())[:20][::-1]

    def draw(ax: Axes) -> None:
        ax.barh([k for k, _ in items], [v for _, v in items], color=SERIES[0][2])
        ax.set(xlabel="Total gain", title="Feature importance (top 20)")
        ax.tick_params(axis="y", labelsize=7)

    return draw


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.4f}".rstrip("0").rstrip(".")
    return html.escape(str(value))


def _metrics_table(metadata: dict[str, Any]) -> str:
    columns = [(k, label) for k, label, _ in _series(metadata) if k in metadata["metrics"]]
    if "tenure" in metadata["metrics"]:  # a logistic model on the tenure alone (no curves)
        columns.append(("tenure", "Tenure alone"))
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{_fmt(metadata['metrics'][k].get(key))}</td>" for k, _ in columns)
        + "</tr>"
        for key, label in CARD_METRICS
    )
    return f"<table><tr><th>metric</th>{head}</tr>{body}</table>"


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} ({v})" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _promotion_section(metadata: dict[str, Any]) -> str:
    reasons = metadata.get("promotion", {}).get("blocked_by", [])
    if not reasons:
        return ""
    items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
    return f'<div class="warn"><b>Not made active automatically:</b><ul>{items}</ul></div>'


def _data_section(metadata: dict[str, Any]) -> str:
    data = metadata["data"]
    items = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(_plain(v))}</li>"
        for k, v in data.items()
        if k != "rows"
    )
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{part['rows']:,}</td><td>{part['churned']:,}</td>"
        f"<td>{_fmt(part['rate'])}</td></tr>"
        for name, part in data.get("rows", {}).items()
    )
    return (
        f"<ul>{items}</ul><table><tr><th>slice</th><th>rows</th><th>churned</th>"
        f"<th>rate</th></tr>{rows}</table>"
    )


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222;max-width:72rem}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
td:first-child,th:first-child{text-align:left} th{background:#f4f6fa}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(30rem,1fr));gap:1rem}
.charts div{border:1px solid #eee;padding:.5rem} svg{max-width:100%;height:auto}
code{background:#f4f4f4;padding:0 .2rem}
.warn{background:#fff7e0;border:1px solid #e8c15a;padding:.5rem 1rem;margin:1rem 0}
"""


def render_report(metadata: dict[str, Any]) -> str:
    """The HTML report of one registered model version."""
    version = html.escape(str(metadata.get("version", "")))
    kind = metadata.get("kind", "suppliers")
    horizon = metadata.get("horizon_days")
    subtitle = (
        f"Churn within {horizon} days · trained {html.escape(metadata['created_at'][:19])}"
        if horizon
        else f"Bring-your-own data · trained {html.escape(metadata['created_at'][:19])}"
    )
    charts = [_roc(metadata), _pr(metadata), _reliability(metadata), _lift(metadata)]
    svgs = "".join(f"<div>{_svg(c)}</div>" for c in charts)
    importance = _svg(_importance(metadata), width=7.5, height=5.5)
    params = html.escape(", ".join(f"{k}={v}" for k, v in metadata["params"].items()))
    features = ", ".join(f"<code>{html.escape(n)}</code>" for n in metadata["features"]["names"])
    calibration = html.escape(str(metadata["calibration"]))
    bands = html.escape(str(metadata["risk_bands"]))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Churn model {version}</title>
<style>{STYLE}</style></head><body>
<h1>Churn model {version} <small>({html.escape(str(kind))})</small></h1>
<p class="sub">{subtitle}</p>
{_promotion_section(metadata)}
<h2>Quality on the held-out window</h2>
{_metrics_table(metadata)}
<div class="charts">{svgs}</div>
<h2>Feature importance</h2>
<div class="charts"><div>{importance}</div></div>
<h2>Data</h2>
{_data_section(metadata)}
<h2>Model</h2>
<p>LightGBM, {metadata["best_iteration"]} trees (early stopping). Parameters: {params}.</p>
<p>Calibration: {calibration}. Risk bands (lower bounds): {bands}.</p>
<p>Features ({len(metadata["features"]["names"])}): {features}</p>
</body></html>
"""
