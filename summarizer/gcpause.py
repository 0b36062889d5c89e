"""Loading a model without paying for Python's cyclic garbage collector.

Importing torch and transformers and loading the model create about 600,000 objects that
live as long as the process. While they are created, the collector runs a full collection
each time the heap has grown by a quarter, a dozen in all, each walking every object: on a
2-core CPU about 2 s of a one-document run. At exit it walks them all again (1-1.5 s). None
of it frees anything that matters: the modules, the model and the tokenizer stay.

:func:`paused_gc` turns the collector off inside the block: what the block allocates is
still freed by reference counting, only reference cycles wait. With ``freeze=True`` every
object alive at the end moves to the collector's permanent generation (:func:`gc.freeze`),
where no later collection (nor the one at exit) walks it. Frozen objects are still freed by
reference counting when dropped (a transformers model has no reference cycles: dropping it
frees it); what stays for good is the cyclic garbage the block left, which would take a
full collection (0.3-0.4 s) to find: for the embedded model about 11,000 small objects
(8 MB) of import-time bookkeeping (functions, tuples, type hints), no tensors and no files.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def paused_gc(freeze: bool = False):
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if enabled:
            gc.enable()
