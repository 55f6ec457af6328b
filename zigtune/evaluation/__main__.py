"""``python -m zigtune.evaluation score|ask`` (see ``zigtune.evaluation.cli``)."""

import sys

from zigtune.evaluation.cli import main

sys.exit(main())
