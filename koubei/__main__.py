"""``python -m koubei``: the CLI of the ``koubei`` script, for a checkout without it on PATH."""

import sys

from koubei.flows.cli import main

sys.exit(main())
