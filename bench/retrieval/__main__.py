"""`python -m bench.retrieval`: see run.py."""

import sys

from .run import main

sys.exit(main())
