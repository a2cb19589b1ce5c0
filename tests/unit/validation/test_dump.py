import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog_ml.validation.dump import DumpError, read_dump


def test_csv_keeps_quoted_commas_and_newlines(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text(
        'product_id,title,price\np1,"Shirt, red\nwith ""quotes""",12.5\np2,Mug,\n',
        encoding="utf-8")
    dump = read_dump(tmp_path)
    assert dump.frame["title"].tolist() == ['Shirt, red\nwith "quotes"', "Mug"]
    assert dump.frame["price"].tolist() == ["12.5", None]
    assert dump.frame["_row"].tolist() == [1, 2]


def test_csv_line_with_wrong_field_count_is_kept_as_malformed(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text("product_id,title\np1,A\np2,B,extra\np3,C\n")
    dump = read_dump(tmp_path)
    assert dump.frame["product_id"].tolist() == ["p1", "p3"]
    assert len(dump.malformed) == 1 and dump.malformed[0].row == 2
    assert "expected 2 fields, found 3" in dump.malformed[0].reason
    assert dump.rows_received == 3


def test_jsonl_bad_line_and_non_object_are_malformed(tmp_path: Path) -> None:
    lines = [json.dumps({"product_id": "p1", "title": "Lamp", "tags": ["a"]}), "{oops", "[1, 2]"]
    (tmp_path / "products.jsonl").write_text("\n".join(lines) + "\n")
    dump = read_dump(tmp_path)
    assert dump.frame["tags"].tolist() == ['["a"]']
    assert [m.row for m in dump.malformed] == [2, 3]
    (tmp_path / "products.jsonl").write_text("\n".join([lines[0], "", *lines[1:]]) + "\n")
    assert [m.row for m in read_dump(tmp_path).malformed] == [3, 4]  # a row is its line


def test_a_row_that_is_not_utf8_is_malformed_and_the_rest_is_read(tmp_path: Path) -> None:
    """A Windows-1252 byte in one row (or a JSON escape of half a surrogate pair) cannot be
    stored: that record is malformed, naming the field and the byte, the others go on."""
    (tmp_path / "products.csv").write_bytes(
        "product_id,title\np1,Lamp\np2,Caf\u00e9 mug\np3,Vase\n".encode("cp1252"))
    dump = read_dump(tmp_path)
    assert dump.frame["product_id"].tolist() == ["p1", "p3"]
    (bad,) = dump.malformed
    assert bad.row == 2 and "field 'title'" in bad.reason and "byte 0xe9" in bad.reason
    assert json.loads(bad.raw) == ["p2", "Caf\\xe9 mug"]
    bad.raw.encode("utf-8")  # storable as it is

    lines = ['{"product_id": "j1", "title": "Lamp"}',
             '{"product_id": "j2", "title": "half \\ud800 pair"}',
             '{"product_id": "j3", "title": "whole \\ud83d\\ude00 pair", '
             '"extra": {"k\\udc00": 1}}']
    (tmp_path / "products.csv").unlink()
    (tmp_path / "products.jsonl").write_text("\n".join(lines) + "\n")
    dump = read_dump(tmp_path)
    assert dump.frame["product_id"].tolist() == ["j1"]
    assert [m.row for m in dump.malformed] == [2, 3]
    assert "U+D800" in dump.malformed[0].reason and "column name" in dump.malformed[1].reason


def test_a_header_that_is_not_utf8_stops_the_dump_naming_the_column(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_bytes(
        "product_id,title,pr\u00e9cis\np1,Lamp,x\n".encode("latin-1"))
    with pytest.raises(DumpError, match=r"column 3 of the header.*byte 0xe9"):
        read_dump(tmp_path)


def test_parquet_floats_read_as_text_with_infinity_visible(tmp_path: Path) -> None:
    table = pa.table({"product_id": ["a", "b", "c"], "title": ["x", "y", "z"],
                      "price": [1.5, float("inf"), None]})
    pq.write_table(table, tmp_path / "products.parquet")
    assert read_dump(tmp_path).frame["price"].tolist() == ["1.5", "inf", None]


def test_folder_problems_are_named(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="does not exist"):
        read_dump(tmp_path / "missing")
    with pytest.raises(DumpError, match="holds none of"):
        read_dump(tmp_path)
    (tmp_path / "products.csv").write_text("product_id,title\n")
    (tmp_path / "products.jsonl").write_text("")
    with pytest.raises(DumpError, match="several product files"):
        read_dump(tmp_path)


def test_unreadable_parquet_is_a_dump_error(tmp_path: Path) -> None:
    (tmp_path / "products.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DumpError, match="cannot read"):
        read_dump(tmp_path)


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text("product_id,title,title\np1,a,b\n")
    with pytest.raises(DumpError, match="duplicate column names"):
        read_dump(tmp_path)


def test_a_dump_is_ready_with_its_marker_or_once_it_stopped_changing(tmp_path):
    import os
    import time

    from catalog_ml.validation.dump import dump_readiness

    folder = tmp_path / "2026-11-02"
    assert dump_readiness(folder, "_SUCCESS", 60) == (False, f"{folder} does not exist yet")
    folder.mkdir()
    ready, why = dump_readiness(folder, "_SUCCESS", 60)
    assert not ready and "holds none of" in why
    (folder / "products.csv").write_text("product_id,title\np,t\n")
    ready, why = dump_readiness(folder, "_SUCCESS", 60)
    assert not ready and "waiting for _SUCCESS" in why  # still being written, maybe
    (folder / "_SUCCESS").touch()
    assert dump_readiness(folder, "_SUCCESS", 60)[0]
    (folder / "_SUCCESS").unlink()
    old = time.time() - 3600  # landed an hour ago: no waiting at all
    for entry in (folder, folder / "products.csv"):
        os.utime(entry, (old, old))
    ready, why = dump_readiness(folder, "_SUCCESS", 60)
    assert ready and "unchanged for" in why


def test_a_dump_folder_whose_name_is_not_utf8_is_refused_naming_the_byte(tmp_path: Path
                                                                           ) -> None:
    """Its path goes into reports and tables, which need UTF-8: it was a traceback."""
    import os

    folder = tmp_path / os.fsdecode(b"d\xe9mp")
    folder.mkdir()
    (folder / "products.csv").write_text("product_id,title\np1,Lamp\n")
    with pytest.raises(DumpError, match=r"d\\xe9mp: the path is not UTF-8 text.*0xe9"):
        read_dump(folder)
