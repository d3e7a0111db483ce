"""Realistic Zhengzhou sample data with planted breaches counted exactly (expected_breaches.json).

python -m sample_generator --cases 200000 --seed 1 --out data/demo
"""

from sample_generator.core import generate

__all__ = ["generate"]
