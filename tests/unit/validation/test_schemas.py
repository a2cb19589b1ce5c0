"""catalog_ml.validation.schemas: the committed contract files match the code."""


def test_committed_contracts_match_the_code():
    from catalog_ml.config import Settings, project_root
    from catalog_ml.validation.schemas import rendered_contracts

    folder = project_root() / "schemas"
    for relative, text in rendered_contracts(Settings()).items():
        path = folder / relative
        assert path.exists(), f"{path} missing: run `catalog-ml schemas`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: `catalog-ml schemas`"
