"""catalog_ml.validation.unicode_text: records whose text the lake cannot store."""

from catalog_ml.validation.unicode_text import not_unicode_reason, shown


def test_a_record_of_storable_text_has_no_reason():
    assert not_unicode_reason([("title", "Café 😀 日本"), ("price", None), ("n", 3)]) is None


def test_the_reason_names_the_field_and_the_byte_or_the_surrogate():
    undecoded = b"Caf\xe9".decode("utf-8", "surrogateescape")
    reason = not_unicode_reason([("product_id", "p1"), ("title", undecoded)])
    assert reason is not None
    assert "field 'title'" in reason and "byte 0xe9 at character 4" in reason
    lone = not_unicode_reason([("brand", "x\ud800")])
    assert lone is not None and "lone surrogate U+D800 at character 2" in lone
    header = not_unicode_reason([(b"pr\xe9cis".decode("utf-8", "surrogateescape"), None)])
    assert header is not None and "a column name" in header


def test_shown_escapes_what_cannot_be_stored_and_leaves_the_rest():
    assert shown("Café") == "Café"
    assert shown(b"Caf\xe9 \xff".decode("utf-8", "surrogateescape")) == "Caf\\xe9 \\xff"
    assert shown("a\ud800b") == "a\\ud800b"
    shown("a\ud800b").encode("utf-8")
