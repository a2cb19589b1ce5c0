import datetime as dt
from types import SimpleNamespace

import pytest

from catalog_ml.orchestration import night_from_context
from catalog_ml.sample import BROKEN_ROWS, generate_dump


def test_night_comes_from_logical_date_or_run_after():
    assert night_from_context({"logical_date": dt.datetime(2026, 11, 2, 0, 0)}) == \
        dt.date(2026, 11, 2)
    run = SimpleNamespace(run_after=dt.datetime(2026, 11, 3, 4, 5))
    assert night_from_context({"logical_date": None, "dag_run": run}) == dt.date(2026, 11, 3)
    with pytest.raises(ValueError):
        night_from_context({})


def test_sample_is_reproducible_and_holds_broken_rows(tmp_path):
    first = generate_dump(tmp_path / "a", 30, seed=5, labelled=False, broken=True)
    second = generate_dump(tmp_path / "b", 30, seed=5, labelled=False, broken=True)
    text = (first / "products.csv").read_text()
    assert text == (second / "products.csv").read_text()
    assert text.count("\n") == 1 + 30 + len(BROKEN_ROWS)
    images = sorted(p.name for p in (first / "images").iterdir())
    assert images == sorted(p.name for p in (second / "images").iterdir())
    assert len(images) > 20
    assert all((first / "images" / n).read_bytes() == (second / "images" / n).read_bytes()
               for n in images)


def test_committed_contracts_match_the_code():
    from catalog_ml.config import Settings, project_root
    from catalog_ml.contracts import rendered_contracts

    folder = project_root() / "schemas"
    for relative, text in rendered_contracts(Settings()).items():
        path = folder / relative
        assert path.exists(), f"{path} missing: run `catalog-ml schemas`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: `catalog-ml schemas`"
