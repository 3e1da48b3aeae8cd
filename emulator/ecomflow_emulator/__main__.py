"""`python -m ecomflow_emulator [--port N] [--host H] [--tls-terminated]`: see `server.main` (and `scripts/emulator`)."""

import sys

from .server import main

sys.exit(main())
