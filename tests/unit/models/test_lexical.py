"""catalog_ml.models.lexical: TF-IDF features and the product document they read."""

import json

from catalog_ml.models.lexical import TfidfFeatures, product_document


def test_the_product_document_carries_extra_columns_as_words():
    document = product_document("Shirt", "Acme", None, json.dumps({"gender": "Men", "x": ""}))
    assert document == "Shirt | Acme | gender Men"


def test_tfidf_features_restore_exactly():
    documents = ["red cotton shirt", "blue shoes", "red shoes", "cotton scarf"]
    tfidf = TfidfFeatures.fit(documents)
    again = TfidfFeatures.restore(tfidf.meta(), tfidf.tensors("t"), "t")
    assert abs(again.transform(["red shirt"]) - tfidf.transform(["red shirt"])).sum() == 0
