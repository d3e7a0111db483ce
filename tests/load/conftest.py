"""Load tests reuse the helpers in tests/ (browser.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
