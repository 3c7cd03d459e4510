"""Random streams of their own, so that paired runs stay paired.

At one ``randomness.seed`` an LR-only run and a distiller must give their
student the same initial weights and the same dropout masks. Whatever else a
distiller draws random numbers for (building and initialising the teacher,
connectors and discriminator; subsampling inside a loss) must therefore not
advance torch's global generator, which the student draws from. These
helpers give such a part a generator of its own, seeded from the run's
randomness and the part's name, so it is still reproducible.
"""
import hashlib
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmengine.logging import MessageHub

__all__ = ['derived_seed', 'private_rng', 'iteration_generator']

_MASK = (1 << 63) - 1


def _digest(*parts: bytes) -> int:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
        h.update(b'\0')
    return int.from_bytes(h.digest()[:8], 'little') & _MASK


def derived_seed(name: str) -> int:
    """A seed for ``name`` from the current state of torch's global CPU
    generator, which stays as it is.

    The same global state (the same ``randomness.seed`` at the same point of
    a run) gives the same seed; another name or state gives another one.
    """
    state = torch.get_rng_state().numpy().tobytes()
    return _digest(state, name.encode())


@contextmanager
def private_rng(name: str) -> Iterator[int]:
    """Run a block on a CPU stream of its own (:func:`derived_seed`), and
    give torch's global CPU generator back as it was before the block.

    Model construction and weight initialisation happen on the CPU, so the
    CUDA generators are not touched.

    Example:
        >>> with private_rng('discriminator'):
        ...     disc = nn.Linear(4, 1)  # draws nothing from the global stream

    Yields:
        int: The block's seed.
    """
    seed = derived_seed(name)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield seed


def iteration_generator(name: str,
                        device: Optional[torch.device] = None
                        ) -> torch.Generator:
    """A generator for this training iteration's draws of ``name``.

    Seeded from the run's seed (``torch.initial_seed()``, set by the
    runner's ``randomness.seed``), ``name`` and the iteration in MMEngine's
    message hub, so the draws repeat in a resumed run without any state in
    the checkpoint, and draw nothing from the global stream.
    """
    it = MessageHub.get_current_instance().get_info('iter', 0)
    seed = _digest(str(torch.initial_seed()).encode(), name.encode(),
                   str(int(it)).encode())
    gen = torch.Generator(device=device or 'cpu')
    gen.manual_seed(seed)
    return gen
