"""``python -m app`` is the ``redflag-relay`` command."""

from app.cli import main

main()
