"""What a category costs, and which prices look wrong for the category a product landed in.

An anomaly is judged in log-price, against the median and the median absolute deviation
(MAD) of the product's predicted category in the same currency: robust, so the outliers being
looked for do not move the yardstick. A category with too few priced products borrows its
parent's prices, unless the price is in line with its few siblings (laptops are not
anomalous among cheap electronics when the other laptops cost the same). A price is flagged
when its robust z-score and its ratio to the median are both large: a tight category does not
flag a price that is merely 30 % off.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from catalog_ml.reports.night_data import NightData
from catalog_ml.taxonomy import depth, truncate

MIN_REFERENCE = 8  # priced products a category needs to judge a price on its own
MIN_SIBLINGS = 3  # a smaller category can still clear a price that matches its own
Z_LIMIT = 3.5  # the usual cut-off for the modified z-score (Iglewicz and Hoaglin)
RATIO_LIMIT = 3.0  # and at least this far from the median (either way)
MAD_FLOOR = 0.05  # in log-price: a category with near-identical prices still has a scale
SUMMARY_COLUMNS = ["level", "category", "currency", "priced", "median", "q1", "q3", "min", "max",
                   "anomalies"]
ANOMALY_COLUMNS = ["product_id", "category", "price", "currency", "reference_category",
                   "reference_products", "reference_median", "ratio", "score", "reason"]


def _priced(data: NightData) -> pd.DataFrame:
    frame = data.classified[["product_id", "category", "price", "currency"]]
    return frame[frame["price"].notna() & (frame["price"] > 0) & frame["currency"].notna()]


def price_anomalies(data: NightData) -> pd.DataFrame:
    priced = _priced(data).copy()
    if priced.empty:
        return pd.DataFrame(columns=ANOMALY_COLUMNS)
    priced["log_price"] = np.log(priced["price"].astype(float))
    groups: dict[tuple[str, str], tuple[float, float, int]] = {}
    for level in range(1, depth(list(priced["category"])) + 1):
        keys = [truncate(c, level) for c in priced["category"]]
        for (category, currency), logs in priced.groupby([keys, priced["currency"]])[
                "log_price"]:
            median = float(logs.median())
            mad = float((logs - median).abs().median())
            groups[(category, currency)] = (median, max(mad, MAD_FLOOR), len(logs))
    rows = []
    for product in priced.itertuples(index=False):
        parts = product.category.split(" > ")
        for level in range(len(parts), 0, -1):  # the leaf first, then its parents
            reference = " > ".join(parts[:level])
            median, mad, size = groups[(reference, product.currency)]
            if size >= MIN_REFERENCE:
                break
        else:
            continue  # too few priced products even at the top level
        own_median, _, own_size = groups[(product.category, product.currency)]
        if reference != product.category and own_size >= MIN_SIBLINGS and \
                abs(product.log_price - own_median) < math.log(RATIO_LIMIT):
            continue  # in line with its own few siblings: the category is dear, not the price
        score = 0.6745 * (product.log_price - median) / mad
        ratio = math.exp(product.log_price - median)
        if abs(score) >= Z_LIMIT and max(ratio, 1 / ratio) >= RATIO_LIMIT:
            direction = f"{ratio:.1f}x" if ratio >= 1 else f"1/{1 / ratio:.1f}"
            rows.append({
                "product_id": product.product_id, "category": product.category,
                "price": float(product.price), "currency": product.currency,
                "reference_category": reference, "reference_products": size,
                "reference_median": math.exp(median), "ratio": ratio, "score": score,
                "reason": (f"price {product.price:,.2f} {product.currency} is {direction} the "
                           f"median {math.exp(median):,.2f} of {size} priced products in "
                           f"'{reference}' (robust z {score:+.1f})")})
    return pd.DataFrame(rows, columns=ANOMALY_COLUMNS)


def price_summary(data: NightData, anomalies: pd.DataFrame) -> pd.DataFrame:
    priced = _priced(data)
    flagged = set(anomalies["product_id"])
    frames = []
    for level in range(1, depth(list(priced["category"])) + 1):
        keyed = priced.assign(category=[truncate(c, level) for c in priced["category"]],
                              anomaly=priced["product_id"].isin(flagged))
        keyed = keyed[keyed["category"].str.count(" > ") == level - 1]
        stats = keyed.groupby(["category", "currency"]).agg(
            priced=("price", "size"), median=("price", "median"),
            q1=("price", lambda p: p.quantile(0.25)), q3=("price", lambda p: p.quantile(0.75)),
            min=("price", "min"), max=("price", "max"), anomalies=("anomaly", "sum"))
        frames.append(stats.reset_index().assign(level=level))
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(frames, ignore_index=True)[SUMMARY_COLUMNS]
