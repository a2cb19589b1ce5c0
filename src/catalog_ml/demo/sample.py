"""A reproducible demo catalog: products with titles, prices and simple images, fixed seed.

Each category has its own vocabulary, price level and image motif (shape and palette), with
overlap and noise so the task is not trivial: some titles use words of a neighbouring
category, some products lack a photo, a price or a description. The unlabelled night also
holds a few broken rows, so the demo shows quarantine at work.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


@dataclass(frozen=True)
class CategorySpec:
    path: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    price_eur: float
    shape: str
    colour: tuple[int, int, int]


TAXONOMY = (
    CategorySpec("Electronics > Audio > Headphones", ("headphones", "headset", "earbuds"),
                 ("wireless", "noise cancelling", "over-ear", "bass"), 89, "arc", (30, 30, 30)),
    CategorySpec("Electronics > Audio > Speakers", ("speaker", "soundbar", "boombox"),
                 ("bluetooth", "portable", "waterproof", "bass"), 120, "circle", (40, 60, 90)),
    CategorySpec("Electronics > Computers > Laptops", ("laptop", "notebook", "ultrabook"),
                 ("14 inch", "lightweight", "16GB RAM", "gaming"), 950, "rect", (120, 120, 130)),
    CategorySpec("Electronics > Computers > Keyboards", ("keyboard", "keypad"),
                 ("mechanical", "wireless", "backlit", "compact"), 65, "grid", (60, 60, 70)),
    CategorySpec("Home > Kitchen > Mugs", ("mug", "cup", "tumbler"),
                 ("ceramic", "insulated", "handmade", "large"), 14, "cup", (200, 80, 60)),
    CategorySpec("Home > Kitchen > Knives", ("chef knife", "knife set", "santoku"),
                 ("stainless", "forged", "japanese", "sharp"), 55, "blade", (180, 180, 190)),
    CategorySpec("Home > Furniture > Chairs", ("chair", "armchair", "stool"),
                 ("oak", "ergonomic", "upholstered", "folding"), 160, "chair", (140, 90, 50)),
    CategorySpec("Home > Furniture > Lamps", ("lamp", "floor lamp", "desk light"),
                 ("led", "dimmable", "brass", "minimalist"), 70, "triangle", (240, 200, 60)),
    CategorySpec("Apparel > Tops > T-Shirts", ("t-shirt", "tee", "top"),
                 ("cotton", "slim fit", "organic", "graphic"), 19, "shirt", (50, 120, 200)),
    CategorySpec("Apparel > Footwear > Sneakers", ("sneakers", "trainers", "running shoes"),
                 ("lightweight", "leather", "breathable", "retro"), 85, "shoe", (220, 220, 220)),
)
BRANDS = ("Nordhaus", "Kivo", "Azure & Co", "Mellow", "Tanaka", "Brightline", "Oakridge",
          "Café Lumière", "Zeta", "Polar")
CURRENCIES = (("EUR", 1.0), ("USD", 1.08), ("GBP", 0.86))


def _draw(spec: CategorySpec, rng: np.random.Generator, size: int = 96) -> Image.Image:
    background = tuple(int(v) for v in rng.integers(225, 256, 3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    jitter = rng.integers(-12, 13, 3)
    colour = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(spec.colour, jitter, strict=True))
    s = size * float(rng.uniform(0.6, 0.9))
    x0 = float(rng.uniform(0, size - s))
    y0 = float(rng.uniform(0, size - s))
    x1, y1, cx, cy = x0 + s, y0 + s, x0 + s / 2, y0 + s / 2
    if spec.shape == "arc":
        draw.arc([x0, y0, x1, y1], 180, 360, fill=colour, width=8)
        draw.ellipse([x0, cy, x0 + s / 4, y1], fill=colour)
        draw.ellipse([x1 - s / 4, cy, x1, y1], fill=colour)
    elif spec.shape == "circle":
        draw.rounded_rectangle([x0 + s / 5, y0, x1 - s / 5, y1], 10, fill=colour)
        draw.ellipse([cx - s / 6, cy - s / 6, cx + s / 6, cy + s / 6], fill=(20, 20, 20))
    elif spec.shape == "rect":
        draw.rectangle([x0, y0, x1, cy], fill=colour)
        draw.polygon([(x0 - 4, cy), (x1 + 4, cy), (x1, y1 - s / 4), (x0, y1 - s / 4)],
                     fill=(90, 90, 95))
    elif spec.shape == "grid":
        for row in range(3):
            for column in range(6):
                gx, gy = x0 + column * s / 6, cy - s / 6 + row * s / 9
                draw.rectangle([gx, gy, gx + s / 7, gy + s / 11], fill=colour)
    elif spec.shape == "cup":
        draw.rectangle([x0 + s / 6, y0 + s / 4, x1 - s / 4, y1], fill=colour)
        draw.arc([x1 - s / 3, cy - s / 8, x1, cy + s / 4], 270, 90, fill=colour, width=6)
    elif spec.shape == "blade":
        draw.polygon([(x0, cy), (x1, cy - s / 8), (x1 - s / 5, cy + s / 10)], fill=colour)
        draw.rectangle([x0 - 2, cy - 4, x0 + s / 4, cy + 8], fill=(40, 30, 20))
    elif spec.shape == "chair":
        draw.rectangle([x0 + s / 4, y0, x0 + s / 3, y1], fill=colour)
        draw.rectangle([x0 + s / 4, cy, x1 - s / 6, cy + 8], fill=colour)
        draw.rectangle([x1 - s / 5, cy, x1 - s / 6, y1], fill=colour)
    elif spec.shape == "triangle":
        draw.polygon([(cx, y0), (x0 + s / 5, cy), (x1 - s / 5, cy)], fill=colour)
        draw.rectangle([cx - 3, cy, cx + 3, y1 - 6], fill=(60, 60, 60))
        draw.rectangle([cx - s / 5, y1 - 6, cx + s / 5, y1], fill=(60, 60, 60))
    elif spec.shape == "shirt":
        draw.polygon([(x0, y0 + s / 5), (cx - s / 8, y0), (cx + s / 8, y0), (x1, y0 + s / 5),
                      (x1 - s / 6, y0 + s / 3), (x1 - s / 6, y1), (x0 + s / 6, y1),
                      (x0 + s / 6, y0 + s / 3)], fill=colour)
    else:  # shoe
        draw.polygon([(x0, cy), (cx, cy - s / 6), (x1, cy + s / 6), (x1, y1 - s / 5),
                      (x0, y1 - s / 5)], fill=colour)
        draw.rectangle([x0, y1 - s / 5, x1, y1 - s / 8], fill=(30, 30, 30))
    noise = rng.normal(0, 6, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(0.6))


def _product(index: int, prefix: str, rng: np.random.Generator, folder: Path,
             labelled: bool) -> dict[str, str | None]:
    spec = TAXONOMY[int(rng.integers(len(TAXONOMY)))]
    # one title in eight borrows a noun from a random category: the text alone can mislead
    words = TAXONOMY[int(rng.integers(len(TAXONOMY)))] if rng.random() < 0.125 else spec
    noun = str(rng.choice(words.nouns))
    adjective = str(rng.choice(spec.adjectives))
    brand = str(rng.choice(BRANDS))
    title = f"{brand} {adjective} {noun} {rng.choice(['', 'Pro', 'Mini', '2', 'XL', 'Classic'])}"
    currency, rate = CURRENCIES[int(rng.integers(len(CURRENCIES)))]
    price = spec.price_eur * rate * float(np.exp(rng.normal(0, 0.35)))
    product_id = f"{prefix}-{index:05d}"
    record: dict[str, str | None] = {
        "product_id": product_id,
        "title": " ".join(title.split()),
        "description": None if rng.random() < 0.3 else
        f"{adjective.capitalize()} {noun} by {brand}, for everyday use, quality tested",
        "price": None if rng.random() < 0.1 else f"{price:.2f}",
        "currency": currency,
        "brand": brand,
        "image": None,
    }
    if record["price"] is None:
        record["currency"] = None
    if rng.random() >= 0.1:
        image_path = f"images/{product_id}.jpg"
        _draw(spec, rng).save(folder / image_path, quality=90)
        record["image"] = image_path
    if labelled:
        record["category"] = spec.path
    return record


BROKEN_ROWS = (
    {"product_id": "", "title": "Row without an id"},
    {"product_id": "broken-negative", "title": "Mug with a negative price", "price": "-4.00",
     "currency": "EUR"},
    {"product_id": "broken-noimage", "title": "Lamp whose photo is missing",
     "image": "images/not-there.jpg"},
    {"product_id": "broken-notitle", "title": "   ", "price": "10", "currency": "EUR"},
)


def generate_dump(folder: str | Path, rows: int, seed: int, labelled: bool,
                  prefix: str = "p", broken: bool = False, fmt: str = "csv") -> Path:
    """Write a dump folder (products file + images); returns the folder."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    records = [_product(i, prefix, rng, folder, labelled) for i in range(rows)]
    if broken:
        records.extend(dict(r) for r in BROKEN_ROWS)
    columns = ["product_id", "title", "description", "price", "currency", "brand", "image"]
    if labelled:
        columns.append("category")
    for stale in ("products.csv", "products.jsonl", "products.parquet"):
        (folder / stale).unlink(missing_ok=True)
    if fmt == "csv":
        with open(folder / "products.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, extrasaction="ignore")
            writer.writeheader()
            for record in records:
                writer.writerow({c: record.get(c) or "" for c in columns})
    elif fmt == "jsonl":
        with open(folder / "products.jsonl", "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps({k: v for k, v in record.items() if v is not None},
                                        ensure_ascii=False) + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}; csv or jsonl")
    (folder / "_SUCCESS").touch()  # written last, as a shop's export does: the dump is complete
    return folder
