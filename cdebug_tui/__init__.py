"""Debug running containers, shell-less ones first."""

__version__ = "0.1.0"
