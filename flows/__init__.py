"""Prefect flows composing the stages, their deployments, and the ``koubei`` command line."""
