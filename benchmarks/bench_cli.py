"""The command-line options every benchmark shares: which backends to run on."""

from __future__ import annotations

import argparse

BACKENDS = ("sqlite", "postgresql")


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    """``--backend sqlite|postgresql|both`` (default both)."""
    parser.add_argument(
        "--backend", choices=[*BACKENDS, "both"], default="both", help="where to measure"
    )


def chosen_backends(choice: str) -> list[str]:
    """The backends ``--backend`` names, in the order the figures are printed."""
    return list(BACKENDS) if choice == "both" else [choice]
