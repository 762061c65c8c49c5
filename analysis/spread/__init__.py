"""Spread analysis: cascade graphs, measures, sources, key accounts, coordination, themes.

Graph code takes the graph first (networkx style); every module has runnable Examples.

Entry points other stages call::

    from koubei.analysis.spread.evidence import incident_evidence, cascade_documents
    evidence = incident_evidence(records, picture_dir=path, top=5)   # alert / report payload

    from koubei.analysis.spread.cascade import build_cascades         # records -> forest
    from koubei.analysis.spread.measures import cascade_events        # -> cascade_series(...)
    from koubei.analysis.spread.accounts import accounts_for_period   # -> <prefix>-accounts
    from koubei.pipeline.index.cascade_reads import fetch_cascade     # one cascade from ES
    from koubei.analysis.spread.daily import index_day                # the daily flow's indexing

Modules: ``chains`` (``//@name:`` parsing), ``cascade`` (building), ``links`` (which fields
put a post under another: what can join a cascade), ``forest`` (the state of one
build: hop lookups, parent proposals, cycle-free linking), ``virality`` (linear-time
structural virality), ``measures`` (size, depth, breadth, timing, growth, paths), ``source``
(source estimators and their evaluation), ``accounts`` (roles and scores), ``coordination``
(水军 detection), ``themes`` (complaint clusters), ``pictures`` (PNGs), ``evidence``, ``daily``
(each brand's accounts and cascades of a day, for their indices).
"""
