"""Data committed for the tests, so a clone runs its suite with nothing outside the repository."""

from pathlib import Path

# 2,461 labelled reviews, 140 per category and label (热水器 has 81 negatives under the length
# cap), from the full corpus by bench/_make_reviews_sample.py; same columns as reviews_9cats.csv.
REVIEWS_SAMPLE = Path(__file__).resolve().parent / "reviews_sample.csv"
