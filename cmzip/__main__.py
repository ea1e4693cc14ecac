"""`python -m cmzip` runs the cmzip command line."""
from .cli import main

main()
