"""``python -m msal_mi_async``: the ``msal-mi`` command line."""

import sys

from ._cli import main

sys.exit(main())
