"""``python -m rebuilder``."""

from __future__ import annotations

from rebuilder.cli import main

main()
