"""`python -m bot` runs the `motcua` command line."""

from bot.cli import main

main()
