"""One module per ``koubei`` subcommand; each exposes ``register(subparsers)``."""
