"""koubei (口碑): brand sentiment and crisis monitoring for Chinese e-commerce reviews and posts.

This package holds what every stage shares: the document model, the config schema, paths and
logging. Stages live in ``crawlers``, ``pipeline``, ``analysis``; ``flows`` composes them.
"""

__version__ = "0.1.0"
