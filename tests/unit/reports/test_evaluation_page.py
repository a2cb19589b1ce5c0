"""catalog_ml.reports.evaluation_page: a training run's report as one offline page."""

from __future__ import annotations


def test_the_page_shows_every_view_per_level_and_the_confusion_matrix(trained):
    from catalog_ml.reports.evaluation_page import evaluation_html

    report = trained[3]
    html = evaluation_html(report, title="Model <v1>")
    assert "Model &lt;v1&gt;" in html and "<script" not in html
    for view in report["cross_validation"]:
        assert view in html
    assert "level_2" in html and "Confusion" in html and html.count("<svg") >= 2
    assert f"{report['protocol']['mix_bags']} bootstrap resamples" in html


def test_held_out_products_shallower_than_the_folds_still_make_a_page(trained):
    """Leaves at different depths: no held-out product may reach the deepest level."""
    import copy

    from catalog_ml.reports.evaluation_page import evaluation_html

    report = copy.deepcopy(trained[3])
    holdout = report["holdout"]
    del holdout["levels"]["level_2"]
    for view in holdout["views"].values():
        view["levels"].pop("level_2", None)
    html = evaluation_html(report)
    assert "deepest-level accuracy" in html and "Held-out products" in html
