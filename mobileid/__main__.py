"""`python -m mobileid` runs the `mobileid` command."""

from mobileid.cli import main

main()
