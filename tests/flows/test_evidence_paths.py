"""Where an incident's pictures are written: under $KOUBEI_HOME/evidence, whatever the brand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from elasticsearch import Elasticsearch

from koubei.flows.detect import gather_evidence
from koubei.pipeline.index.writer import index_records
from tests.analysis.spread.incident import T0, incident


@pytest.mark.parametrize("brand", ["../../outside", "AC/DC", "鲜 牧", ".."])
def test_a_brand_name_is_one_folder_inside_the_evidence_folder(
    es: Elasticsearch, index_prefix: str, koubei_home: str, brand: str
) -> None:
    """Before: ``../../outside`` wrote the pictures beside $KOUBEI_HOME, ``AC/DC`` made two."""
    index_records(es, incident(), prefix=index_prefix)
    detection = SimpleNamespace(timestamp=T0 + timedelta(minutes=10))
    _, folder = gather_evidence(
        es, index_prefix, brand, incident(), [detection], T0 + timedelta(hours=1),
        kibana_url="http://kibana.example:5601",
    )  # fmt: skip
    evidence_root = (Path(koubei_home) / "evidence").resolve()
    assert folder.resolve().parent.parent == evidence_root
    pictures = list(folder.glob("*.png"))
    assert pictures and all(p.resolve().is_relative_to(evidence_root) for p in pictures)
    assert not (Path(koubei_home).parent / "outside").exists()
