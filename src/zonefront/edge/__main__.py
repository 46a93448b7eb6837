"""`python -m zonefront.edge ARGS` is `zonefront edge ARGS`."""
import sys

from .cli_glue import main

sys.exit(main())
