"""``python -m dnalm.pretrain --help``: the pretraining command line (torchrun-compatible)."""

import sys

from dnalm.pretrain.launch import main

sys.exit(main())
