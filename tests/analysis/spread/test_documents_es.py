"""Account and cascade documents are accepted by the real index templates and read back."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch, helpers

from koubei.analysis.spread.accounts import accounts_for_period
from koubei.analysis.spread.cascade import build_cascades
from koubei.analysis.spread.evidence import cascade_documents
from koubei.pipeline.index.templates import ensure_templates, kind_index
from tests.analysis.spread.incident import incident


@pytest.mark.es
def test_documents_index_and_query(es: Elasticsearch, index_prefix: str) -> None:
    ensure_templates(es, index_prefix)
    accounts = accounts_for_period(incident(), brand="鲜牧", day="2026-11-25", platform="weibo")
    cascades = cascade_documents(build_cascades(incident()), brand="鲜牧")
    actions = [
        {"_index": kind_index(index_prefix, kind), "_id": doc["id"], "_source": doc}
        for kind, docs in (("accounts", accounts), ("cascades", cascades))
        for doc in docs
    ]
    ok, errors = helpers.bulk(es, actions, refresh=True, raise_on_error=False)
    assert errors == [] and ok == len(actions)
    top = es.search(
        index=kind_index(index_prefix, "accounts"),
        query={"term": {"brand": "鲜牧"}},
        sort=[{"score": "desc"}],
        size=2,
    )["hits"]["hits"]
    assert [h["_source"]["name"] for h in top] == ["消费者小李", "大V老王"]
    deep = es.search(
        index=kind_index(index_prefix, "cascades"), query={"range": {"depth": {"gte": 3}}}
    )["hits"]["hits"]
    assert [h["_id"] for h in deep] == ["鲜牧:weibo:1"]
    assert deep[0]["_source"]["top_accounts"][0] == "u-消费者小李"
