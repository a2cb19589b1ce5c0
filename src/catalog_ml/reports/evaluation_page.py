"""The evaluation report of one training run as a self-contained HTML page."""

from __future__ import annotations

from typing import Any

from catalog_ml.reports import charts
from catalog_ml.reports.page import kpis, page, section, table


def _levels_table(cross_validation: dict[str, Any]) -> str:
    rows = []
    for view, levels in cross_validation.items():
        for level, figures in levels.items():
            rows.append([view, level, f"{figures['accuracy']['mean']:.4f}",
                         f"± {figures['accuracy']['std']:.4f}",
                         f"{figures['macro_f1']['mean']:.4f}",
                         f"± {figures['macro_f1']['std']:.4f}"])
    return table(["model", "level", "accuracy (mean)", "spread", "macro-F1 (mean)", "spread"],
                 rows)


def _bagging_note(report: dict[str, Any]) -> str:
    bags = report.get("protocol", {}).get("mix_bags")
    return f" (the mean of the best mixes of {bags} bootstrap resamples of them)" if bags else ""


def _level_weights_note(level_weights: list[float]) -> str:
    if not level_weights:
        return "each product gets its likeliest leaf"
    return ("each product gets the leaf whose path scores best over the levels, weighted "
            + ", ".join(f"{w:g}" for w in level_weights) + " from the top level down")


def _confidence_note(calibration: dict[str, Any] | None) -> str:
    if not calibration:
        return "; the confidence is the category's probability"
    return ("; the confidence is calibrated out of fold on the logit of the category's "
            f"probability (weight {calibration['probability_coef']:.2f}) and log(1 + its "
            f"labelled products) (weight {calibration['support_coef']:.2f})")


def _ablation(cv: dict[str, Any], cost: dict[str, Any]) -> str:
    """Every view side by side per level, with what its members cost to fit."""
    levels = list(cv["ensemble"])
    rows = [[view, *(f"{cv[view][lv]['accuracy']['mean']:.4f} / "
                     f"{cv[view][lv]['macro_f1']['mean']:.4f}" if lv in cv[view] else "-"
                     for lv in levels),
             f"{cost['view_seconds'].get(view, 0):.1f}",
             f"{cost['view_seconds_per_1000'].get(view, 0):.2f}"]
            for view in cv]
    return section(
        "Ablation", table(["model", *(f"{lv} acc / F1" for lv in levels), "fit s",
                                "fit s per 1,000"], rows),
        note=f"cross-validated means; fit seconds over every fold and the final fit "
             f"({cost['fitted_products']} products fitted in all); embedding is paid once by "
             "the embed step and is not included")


def evaluation_html(report: dict[str, Any], title: str = "Model evaluation") -> str:
    protocol = report["protocol"]
    cv = report["cross_validation"]
    leaf = f"level_{len(cv['ensemble'])}"
    sections = [
        kpis({"CV leaf accuracy": cv["ensemble"][leaf]["accuracy"]["mean"],
              "CV leaf macro-F1": cv["ensemble"][leaf]["macro_f1"]["mean"],
              "review threshold": report["review_threshold"],
              "coverage at target (OOF)": report["out_of_fold"]["review"]["coverage"],
              "ECE (OOF)": report["out_of_fold"]["ece"]}),
        section("Cross-validation", _levels_table(cv), charts.bar_chart(
            list(cv), {"leaf accuracy": [cv[v][leaf]["accuracy"]["mean"] for v in cv],
                       "leaf macro-F1": [cv[v][leaf]["macro_f1"]["mean"] for v in cv]},
            "cross-validated accuracy and macro-F1 per model"),
            note=(f"{protocol['folds']}-fold stratified cross-validation over "
                  f"{protocol['cross_validated']} products; {protocol['rare_threshold_only']} "
                  "products of categories too rare to stratify are predicted out of fold "
                  "for the review threshold but not scored here; "
                  f"{protocol['backed_off_to_parent']} labels backed off "
                  "to their parent category.")),
        section("Cross-validation, pooled", table(
            ["model", "level", "accuracy", "macro-F1"],
            [[view, level, f"{f['accuracy']:.4f}", f"{f['macro_f1']:.4f}"]
             for view, levels in report["cross_validation_pooled"].items()
             for level, f in levels.items()]),
            note="every out-of-fold prediction scored at once (how a single 5-fold figure is "
                 "usually quoted); the table above averages per fold"),
        section("Ensemble", table(["member", "weight"], [[k, f"{v:.3f}"] for k, v in
                                                         report["weights"].items()]),
                note=f"temperature {report['temperature']:.3f}, weights learned on "
                     f"out-of-fold predictions{_bagging_note(report)}; "
                     + _level_weights_note(report.get("level_weights") or [])
                     + _confidence_note(report.get("confidence_calibration"))),
    ]
    if "cost" in report:
        sections.insert(2, _ablation(cv, report["cost"]))
    holdout = report.get("holdout")
    if holdout:
        review = holdout["review"]
        # the held-out products may reach less deep than the cross-validated ones: a
        # taxonomy whose leaves sit at different depths, a deepest path held out by no one
        deepest = f"level_{len(holdout['levels'])}"
        sections.append(section(
            "Held-out products",
            kpis({"products": holdout["n"],
                  "deepest-level accuracy": holdout["levels"][deepest]["accuracy"],
                  "deepest-level macro-F1": holdout["levels"][deepest]["macro_f1"],
                  "ECE": holdout["ece"],
                  "auto-accepted": review["coverage"],
                  "precision of accepted": review["precision"]}),
            table(["model", "level", "accuracy", "macro-F1"],
                  [[view, level, f"{f['accuracy']:.4f}", f"{f['macro_f1']:.4f}"]
                   for view, s in holdout["views"].items() for level, f in s["levels"].items()]),
            note=f"{protocol['holdout']} products chosen by product-id hash; never trained on"))
        worst = sorted(holdout["per_class"], key=lambda c: (c["f1"], -c["support"]))
        sections.append(section(
            "Per class (weakest first)",
            table(["class", "precision", "recall", "F1", "support"],
                  [[c["class"], f"{c['precision']:.3f}", f"{c['recall']:.3f}",
                    f"{c['f1']:.3f}", c["support"]] for c in worst])))
        sections.append(section(
            "Confusion matrix (held-out)",
            charts.heatmap(holdout["confusion"]["labels"], holdout["confusion"]["matrix"],
                           "confusion matrix"),
            note="rows: true category, columns: predicted; blue = right, red = wrong; "
                 "hover a cell for its count"))
    return page(title, sections, subtitle=f"{protocol['labelled']} labelled products, "
                                          f"{protocol['classes']} categories")
