"""Elasticsearch: client, templates, writer (bulk, spool, dead letters) and queries."""
