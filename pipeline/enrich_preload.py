"""What every enrichment helper needs, loaded once in the fork server that forks the helpers.

``koubei.pipeline.enrich`` names this module as the fork server's preload, so helpers forked from it
inherit jieba's dictionary, the shipped sentiment model and every lazily built table (OpenCC,
stop words, MinHash permutations), and start in milliseconds ready to work. (The aspect lexicon
is the run's own, handed to each helper when it starts; the shipped one only warms up here.)
Importing it anywhere else just loads them.
"""

from __future__ import annotations

from koubei.pipeline.aspects import SHIPPED_ASPECTS, load_aspects
from koubei.pipeline.enrich import enrich_chunk
from koubei.pipeline.sentiment import SentimentModel, load_model

SHIPPED_MODEL: SentimentModel = load_model()

# Enriching one made-up record builds everything the first real record would otherwise wait for.
enrich_chunk(
    [
        {
            "id": "preload:1",
            "platform": "preload",
            "source": "preload",
            "kind": "post",
            "native_id": "1",
            "text_raw": "<p>物流很快，質量不太好[怒] #话题# @某人 https://example.com</p>",
            "created_at": "2026-01-01T00:00:00+08:00",
        }
    ],
    SHIPPED_MODEL,
    load_aspects(SHIPPED_ASPECTS),
)
