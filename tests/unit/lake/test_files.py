"""catalog_ml.lake.files: one filesystem helper for local paths and object stores."""

from __future__ import annotations

import pyarrow.fs as pafs

from catalog_ml.lake.files import (
    delta_options,
    endpoint_of,
    is_remote,
    join,
    open_filesystem,
    subtree,
)


def test_remote_uris_are_told_from_local_paths():
    assert is_remote("s3://bucket/lake") and is_remote("GS://b/x") and is_remote("abfss://c/x")
    assert not is_remote("/data/lake") and not is_remote("lake")


def test_a_local_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    filesystem, path = open_filesystem("lake/")
    assert isinstance(filesystem, pafs.LocalFileSystem)
    assert path == str(tmp_path / "lake")


def test_an_s3_uri_takes_endpoint_and_keys_from_the_options_only():
    options = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "k",
               "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"}
    filesystem, path = open_filesystem("s3://bucket/lake/", options)
    assert isinstance(filesystem, pafs.S3FileSystem) and path == "bucket/lake"
    assert filesystem.region == "eu-west-1"
    assert endpoint_of({"endpoint_url": "http://x"}) == "http://x"


def test_delta_rs_is_told_to_allow_a_plain_http_endpoint_and_nothing_else_changes():
    options = {"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_REGION": "us-east-1"}
    assert delta_options(options) == {**options, "AWS_ALLOW_HTTP": "true"}
    secure = {"AWS_ENDPOINT_URL": "https://s3.example.com"}
    assert delta_options(secure) == secure
    told = {"AWS_ENDPOINT_URL": "http://minio:9000", "allow_http": "false"}
    assert delta_options(told) == told


def test_a_subtree_is_rooted_at_the_uri_and_join_keeps_one_slash(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "a.txt").write_text("x")
    rooted = subtree(str(tmp_path / "lake"))
    assert rooted.get_file_info("a.txt").type == pafs.FileType.File
    assert join("s3://b/lake/", "/tables/", "x") == "s3://b/lake/tables/x"
