"""xdancer: make the person in one photo dance to any piece of music (X-Dancer, ICCV 2025)."""

__version__ = "0.1.0"
