"""catalog_ml.validation.landing: a dump folder, local or on an object store, and what lies
inside it."""

from __future__ import annotations

from catalog_ml.validation.landing import DumpFolder


def test_a_local_folder_lists_reads_and_sizes_its_files(tmp_path):
    (tmp_path / "products.csv").write_text("product_id,title\n")
    folder = DumpFolder.at(f"file://{tmp_path}/")
    assert folder.is_local and folder.path == tmp_path and folder.exists()
    assert folder.has_file("products.csv") and not folder.has_file("_SUCCESS")
    assert folder.read_bytes("products.csv") == b"product_id,title\n"
    assert folder.size("products.csv") == 17
    assert [e.base_name for e in folder.entries()] == ["products.csv"]
    assert not DumpFolder.at(tmp_path / "nope").exists()


def test_references_that_leave_the_folder_are_refused():
    folder = DumpFolder.at("s3://landing/2026-11-02", {"AWS_REGION": "us-east-1"})
    assert not folder.is_local and str(folder) == "s3://landing/2026-11-02"
    assert folder.inside("images/a.jpg") == "images/a.jpg"
    assert folder.inside("images/../b.jpg") == "b.jpg"
    for bad in ("../x.jpg", "/etc/passwd", "\\\\host\\x", "a/../..", ".", "", "a\x00b"):
        assert folder.inside(bad) is None, bad
    assert folder.uri("images/a.jpg") == "s3://landing/2026-11-02/images/a.jpg"
