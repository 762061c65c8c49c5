"""Sentiment: a fast snownlp-Bayes-based scorer with negation, degree, emoticons and calibration.

``load_model()`` returns the model shipped in ``models/``; ``model.score(text)`` gives
``(probability positive, label)``; ``model.score_record(record)`` fills ``record["sentiment"]``.
"""

from __future__ import annotations

from koubei.pipeline.sentiment.model import DEFAULT_MODEL, SentimentModel, load_model

__all__ = ["DEFAULT_MODEL", "SentimentModel", "load_model"]
