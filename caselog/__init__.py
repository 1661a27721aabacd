"""caselog: an event-sourced, tamper-evident log of administrative litigation cases."""

__version__ = "0.1.0"
