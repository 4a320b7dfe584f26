import sys

from layerslayer_tui.cli import main

sys.exit(main())
