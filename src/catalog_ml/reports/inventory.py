"""What we have per category and level, and what is new, changed or gone since last night."""

from __future__ import annotations

import pandas as pd

from catalog_ml.reports.night_data import NightData
from catalog_ml.taxonomy import depth, truncate

COLUMNS = ["level", "category", "products", "new", "changed", "removed", "needs_review",
           "needs_review_share"]


def inventory(data: NightData) -> pd.DataFrame:
    tonight = data.classified
    before = data.previous_snapshot.set_index("product_id")["content_hash"]
    known = tonight["product_id"].isin(before.index)
    flags = pd.DataFrame({
        "category": tonight["category"],
        "new": ~known if data.previous_night else pd.Series(True, index=tonight.index),
        "changed": known & (tonight["content_hash"].to_numpy()
                            != before.reindex(tonight["product_id"]).to_numpy()),
        "needs_review": tonight["needs_review"].astype(bool)})
    gone = data.previous_classified[
        ~data.previous_classified["product_id"].isin(data.snapshot["product_id"])]
    frames = []
    for level in range(1, max(depth(list(tonight["category"])),
                              depth(list(gone["category"]))) + 1):
        now = flags.assign(category=[truncate(c, level) for c in flags["category"]])
        now = now[now["category"].str.count(" > ") == level - 1]
        counts = now.groupby("category").agg(products=("new", "size"), new=("new", "sum"),
                                             changed=("changed", "sum"),
                                             needs_review=("needs_review", "sum"))
        removed = pd.Series([truncate(c, level) for c in gone["category"]], dtype=object)
        removed = removed[removed.str.count(" > ") == level - 1].value_counts().rename("removed")
        merged = counts.join(removed, how="outer").fillna(0).astype("int64")
        merged["needs_review_share"] = (merged["needs_review"] / merged["products"]).where(
            merged["products"] > 0)
        frames.append(merged.reset_index(names="category").assign(level=level))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS].sort_values(
        ["level", "products"], ascending=[True, False], ignore_index=True)
