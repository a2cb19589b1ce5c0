"""catalog_ml.demo.sample: the generated demo catalog."""


from catalog_ml.demo.sample import BROKEN_ROWS, generate_dump


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
