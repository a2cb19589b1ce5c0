"""catalog_ml.pipeline.embed.embed_partitions: no wave of the embed job leaves a core idle."""

import math

import pytest

from catalog_ml.pipeline.embed import ROWS_PER_PARTITION, embed_partitions


@pytest.mark.parametrize("count,tasks", [(1, 1), (43, 1), (387, 2), (4305, 2), (10_000, 2),
                                         (1_000_000, 2), (5000, 16), (700, 3)])
def test_partitions_fill_every_wave_and_stay_bounded(count, tasks):
    partitions = embed_partitions(count, tasks)
    assert partitions % tasks == 0
    assert math.ceil(count / partitions) <= ROWS_PER_PARTITION
    # no more waves than the rows need
    assert partitions // tasks == math.ceil(count / (tasks * ROWS_PER_PARTITION))
