"""Makes `loma_train` importable when pytest runs from the repository root or from Training/."""

import sys
from pathlib import Path

TRAINING = Path(__file__).resolve().parent.parent
if str(TRAINING) not in sys.path:
    sys.path.insert(0, str(TRAINING))
