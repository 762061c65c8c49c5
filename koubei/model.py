"""The document model: one record for a review, post, repost, comment or article.

Every arrow of the pipeline (crawl → landing → process → index → analyse) carries this record as a
plain JSON object, so each stage can be re-run on the previous stage's output. Spiders fill the
raw fields; the pipeline fills ``text_clean``, ``terms``, ``sentiment``, ``aspects`` (with
``aspect_lexicon_version``) and ``dup_cluster``; Elasticsearch adds nothing the record does not
have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from koubei.timeutil import aware

SCHEMA_VERSION = 1

Kind = Literal["review", "post", "repost", "comment", "article"]
Relation = Literal["repost", "reply", "quote"]
# "day": the platform gave a date without a time of day (Weibo ``11-20``, an article's date);
# ``created_at`` is that day's midnight and must stay out of intraday series.
TimePrecision = Literal["day"]
# no_opinion: a post with no words of its own (bare repost, emoji only ...); see
# pipeline/sentiment/opinion.py. It counts in no negative share.
SentimentLabel = Literal["positive", "neutral", "negative", "no_opinion"]


# What the Elasticsearch templates can store: counts are ``long`` fields and ``rating`` a
# ``float`` (32-bit), so a value outside these is refused there, far from its landing line.
Long = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Float32 = Annotated[float, Field(ge=-3.4e38, le=3.4e38)]


class _Strict(BaseModel):
    # NaN and infinities are not JSON and Elasticsearch refuses them ("rating": "NaN" would parse).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Author(_Strict):
    id: str | None = None
    name: str | None = None
    followers: Long | None = None
    verified: bool | None = None
    region: str | None = None


class Engagement(_Strict):
    likes: Long = 0
    reposts: Long = 0
    comments: Long = 0
    helpful: Long = 0


class BrandMatch(_Strict):
    """Why a record counts for a brand: which configured term matched in which field."""

    brand: str
    term: str
    field: str = "text"


class Sentiment(_Strict):
    score: float = Field(ge=0.0, le=1.0, description="probability that the text is positive")
    label: SentimentLabel
    model_version: str  # the model file's version (``SentimentModel.version``)
    # The scoring rules' version (lexicons, glosses, no-opinion rules: the digest of
    # ``pipeline/sentiment/rules.py``). None: scored before koubei recorded it, which
    # ``koubei sentiment rescore`` counts as out of date.
    rules_version: str | None = None


class AspectSentiment(_Strict):
    aspect: str
    score: float = Field(ge=0.0, le=1.0)
    label: SentimentLabel
    sentence: str = ""


class Document(_Strict):
    id: str = Field(description="stable id: '<platform>:<native id>'; the Elasticsearch _id")
    platform: str
    source: str
    kind: Kind
    native_id: str
    url: str | None = None
    brands: list[str] = Field(default_factory=list)
    brand_matches: list[BrandMatch] = Field(default_factory=list)
    author: Author = Field(default_factory=Author)
    parent_id: str | None = None
    root_id: str | None = None
    relation: Relation | None = None
    title: str | None = None
    text_raw: str
    text_clean: str | None = None
    terms: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    product_id: str | None = None
    rating: Float32 | None = None
    engagement: Engagement = Field(default_factory=Engagement)
    created_at: datetime
    time_precision: TimePrecision | None = None
    # When koubei fetched the item: spiders always set it (a crawl is an observation). None when
    # it was never observed (an export given to ``koubei process``/``index load``): such a post
    # counts in history from its own ``created_at`` and never as fresh data of its source.
    crawled_at: datetime | None = None
    language: str = "zh"
    sentiment: Sentiment | None = None
    aspects: list[AspectSentiment] = Field(default_factory=list)
    # Which aspect lexicon tagged ``aspects`` (``AspectLexicon.version``), as
    # ``sentiment.model_version`` says which model scored the post. None: not tagged, or tagged
    # before koubei recorded it (``koubei sentiment rescore`` counts that as out of date).
    aspect_lexicon_version: str | None = None
    dup_cluster: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @field_validator("created_at", "crawled_at")
    @classmethod
    def _timezone_aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else aware(value)


_COUNT: TypeAdapter[int] = TypeAdapter(Long)


def count_from_text(text: str) -> int:
    """A count written as text (``"12"``, ``" 1 "``, ``"1_000"``) read as :class:`Engagement`
    reads it, else ValueError (pydantic's ValidationError is one): a stage that reads records
    without the model (the index writer, for ``koubei index load`` of a foreign file) reads
    their counts as ``koubei process`` does.

    >>> count_from_text(" 12 ")
    12
    """
    return _COUNT.validate_python(text)


def make_id(platform: str, native_id: object) -> str:
    """The deterministic document id; a re-crawl of the same item yields the same id."""
    return f"{platform}:{native_id}"


def to_record(doc: Document) -> dict[str, Any]:
    """The JSON-ready record that landing files and the index carry."""
    return doc.model_dump(mode="json")


def from_record(record: dict[str, Any]) -> Document:
    return Document.model_validate(record)
