import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tests/tolerances.py, tests/conformance_cases.py
