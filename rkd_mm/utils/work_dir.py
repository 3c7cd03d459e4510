"""What a work dir holds: its checkpoints and the one to resume from."""
import glob
import os.path as osp
import re
from typing import List, Optional, Tuple

__all__ = ['list_checkpoints', 'resume_checkpoint']

_NUMBERED = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def list_checkpoints(work_dir: str) -> List[str]:
    """The ``*.pth`` files directly in ``work_dir`` (where MMEngine's
    ``CheckpointHook`` writes them), sorted by name."""
    return sorted(p for p in glob.glob(osp.join(glob.escape(work_dir),
                                                '*.pth')) if osp.isfile(p))


def resume_checkpoint(work_dir: str) -> Tuple[Optional[str], str]:
    """The checkpoint ``--resume`` (without a path) continues from.

    MMEngine reads the absolute path in ``<work_dir>/last_checkpoint`` and,
    without that file, silently starts from scratch. Here:

    1. the file named by ``last_checkpoint``, looked up in ``work_dir``
       first (a moved or copied work dir keeps its old absolute path in
       that file), then at the path as written;
    2. otherwise the ``iter_<n>.pth`` / ``epoch_<n>.pth`` with the largest
       ``n`` (``last_checkpoint`` deleted, or naming a file that is gone);
    3. otherwise None.

    Args:
        work_dir: The run's work dir.

    Returns:
        tuple: The checkpoint path (or None) and a sentence saying how it
        was chosen when that was not the plain ``last_checkpoint`` entry
        (empty otherwise), for the log.
    """
    note = ''
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            entry = f.read().strip()
        if entry:
            local = osp.join(work_dir, osp.basename(entry))
            if osp.isfile(local):
                if osp.abspath(local) != osp.abspath(entry):
                    note = (f'{marker} names {entry}; resuming from the '
                            f'work dir\'s own {local} (the work dir was '
                            'moved or copied).')
                return local, note
            if osp.isfile(entry):
                return entry, note
            note = f'{marker} names {entry}, which does not exist. '
    numbered = []
    for path in list_checkpoints(work_dir):
        match = _NUMBERED.match(osp.basename(path))
        if match:
            numbered.append((int(match.group(1)), path))
    if numbered:
        path = max(numbered)[1]
        return path, note + f'Resuming from the newest numbered checkpoint ' \
            f'in {work_dir}: {path}.'
    return None, note
