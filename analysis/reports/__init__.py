"""Pages people read: an incident page per incident and a daily brief, as static HTML.

Self-contained files (charts as inline SVG, pictures and a font subset embedded, no script):
written under ``$KOUBEI_HOME/reports`` by the flow and ``koubei report``, served on loopback by
``koubei report serve``, and linked from alerts through ``reports_url`` in ``alerts.yaml``.

- :mod:`.content` builds what a page shows from plain data (tested from fixtures), the brief's
  section on edited posts in :mod:`.edits`;
- :mod:`.charts` draws the charts; :mod:`.render` renders and writes a page;
- :mod:`.gather` fetches the inputs from Elasticsearch and the alerts database.
"""
