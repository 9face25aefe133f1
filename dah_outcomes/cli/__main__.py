"""``python -m dah_outcomes.cli``: the same as the ``dah-outcomes`` command."""

import sys

from dah_outcomes.cli.main import main

sys.exit(main())
