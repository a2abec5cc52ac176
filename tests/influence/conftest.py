import sys
from pathlib import Path

# helpers_im.py lives beside the influence tests
sys.path.insert(0, str(Path(__file__).resolve().parent))
