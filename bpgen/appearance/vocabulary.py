"""The names a look is made of (config keys and label values)."""

from __future__ import annotations

# Age bands (years, inclusive-exclusive upper bound) that configs/body/anny.yaml's age_mix weighs.
AGE_BANDS: dict[str, tuple[float, float]] = {
    "infant": (0.0, 4.0),
    "child": (4.0, 13.0),
    "teen": (13.0, 18.0),
    "adult": (18.0, 65.0),
    "elder": (65.0, 90.0),
}
SEXES = ("female", "male")
HAIR_STYLES = ("bald", "buzz", "short", "medium", "long", "tied")
HAIR_COLORS = ("black", "dark_brown", "brown", "blond", "red", "grey", "dyed")
TOPS = ("sleeveless", "short_sleeve", "long_sleeve", "leotard")
BOTTOMS = ("trousers", "shorts", "leggings", "skirt", "dress")
FEET = ("barefoot", "socks", "shoes")
FABRICS = ("solid", "stripes", "checks", "denim", "printed")
SKIN_TONE_BANDS = 10  # Monk Skin Tone scale
