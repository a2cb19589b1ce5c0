"""catalog_ml.lake.query on a real classified lake: what an analyst asks in the morning."""

from __future__ import annotations

import pytest

from catalog_ml.cli import main
from tests.integration.conftest import N_NIGHT, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_cli_query_reads_the_tables(classified_lake, capsys):
    code = main(["query", f"SELECT count(*) AS n FROM classifications "
                 f"WHERE run_date = DATE '{NIGHT}'", "--lake", classified_lake.settings.lake,
                 "--format", "csv"])
    assert code == 0
    assert capsys.readouterr().out.strip().splitlines() == ["n", str(N_NIGHT)]


def test_the_nights_summary_counts_what_the_night_wrote(classified_lake):
    from catalog_ml.lake.query import night_summary
    from tests.integration.conftest import BROKEN_FIELDS

    summary = night_summary(classified_lake.lake, NIGHT)
    assert summary["accepted"] == summary["classified"] == N_NIGHT
    assert summary["quarantined"] == len(BROKEN_FIELDS)
    assert 0 <= summary["needs_review_share"] <= 1 and 0 < summary["mean_confidence"] <= 1
