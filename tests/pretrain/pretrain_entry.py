"""Test-only torchrun entry: install the CPU shim, then run the library's launch main.

`SCILOOM_TEST_STEP_SLEEP` (seconds) slows every training step so a test can deliver SIGTERM mid-run.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import megatron.core  # noqa: E402,F401  (the shim patches megatron's RNG helpers)
import megatron_cpu_shim  # noqa: E402

megatron_cpu_shim.install()

from sciloom.pretrain import launch  # noqa: E402
from sciloom.pretrain.trainer import Trainer  # noqa: E402

_sleep = float(os.environ.get("SCILOOM_TEST_STEP_SLEEP", "0"))
if _sleep:
    import time

    _step = Trainer.train_step

    def _slow_step(self):
        time.sleep(_sleep)
        return _step(self)

    Trainer.train_step = _slow_step

if __name__ == "__main__":
    sys.exit(launch.main())
