"""python -m tests.realcluster build|up|run|down|status|record-examples"""

import sys

from tests.realcluster.cli import main

sys.exit(main(sys.argv[1:]))
