"""``python -m zigtune.validation check FILE.zig ...`` (see :mod:`zigtune.validation.cli`)."""

import sys

from zigtune.validation.cli import main

sys.exit(main())
