import sys

from xdancer.cli import main

sys.exit(main())
