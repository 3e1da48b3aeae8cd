"""Python settings of a Glue run's processes (the script and Spark's Python workers), which
`ecomflow_emulator.glue_run` puts first on their PYTHONPATH; nothing a script can see but speed.

The workers allocate a few objects per field of every row (a few million for the project's
dataset) and keep few of them: with CPython's default thresholds (700, 10, 10) the cyclic
collector runs every 700 allocations and rescans the survivors over and over, about a sixth
of the workers' time. Collections a hundred times rarer cost the same in memory as a batch of
rows.
"""

import gc

gc.set_threshold(70000, 20, 100)
