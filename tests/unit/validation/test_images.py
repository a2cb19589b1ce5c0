"""catalog_ml.validation.images: each photo a row names, checked before any decode."""

from __future__ import annotations

import os

from PIL import Image

from catalog_ml.features.remote import ImageLimits
from catalog_ml.validation.images import check_image, check_images
from catalog_ml.validation.landing import DumpFolder


def _dump(tmp_path):
    folder = tmp_path / "dump"
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (40, 30), (1, 2, 3)).save(folder / "images" / "ok.jpg")
    (folder / "images" / "bad.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (tmp_path / "secret.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "secret.jpg", folder / "images" / "escape.jpg")
    return DumpFolder.at(folder)


def test_each_reference_gets_its_state(tmp_path):
    folder = _dump(tmp_path)
    states = [None if c is None else c.state for c in check_images(folder, [
        "images/ok.jpg", "images/bad.jpg", "images/none.jpg", "../secret.jpg",
        "images/escape.jpg", None, "https://cdn.example.com/a.jpg"])]
    assert states == ["ok", "corrupt", "missing", "outside", "outside", None, "remote"]


def test_a_good_photo_has_its_digest_and_skipping_verification_reads_nothing(tmp_path):
    folder = _dump(tmp_path)
    ok = check_image(folder, "images/ok.jpg")
    assert ok.uri.startswith("file://") and len(ok.digest) == 64
    assert check_image(folder, "images/bad.jpg", verify=False).state == "unchecked"


def test_limits_refuse_big_files_and_private_addresses_before_any_fetch(tmp_path):
    folder = _dump(tmp_path)
    small_file = ImageLimits.build(max_bytes=50, max_pixels=10**6, allowed_hosts=[],
                                   allow_private_networks=False, timeout_s=1)
    assert check_image(folder, "images/ok.jpg", limits=small_file).state == "too_large"
    few_pixels = ImageLimits.build(max_bytes=10**6, max_pixels=100, allowed_hosts=[],
                                   allow_private_networks=False, timeout_s=1)
    too_many = check_image(folder, "images/ok.jpg", limits=few_pixels)
    assert too_many.state == "too_large" and "40 x 30 pixels" in too_many.detail
    refused = check_image(folder, "http://127.0.0.1/a.jpg")
    assert refused.state == "refused" and refused.uri is None
