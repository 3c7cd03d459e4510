"""Content-addressed cache of a frozen teacher's recorded outputs."""
import hashlib
import json
import logging
import os
import os.path as osp
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from torch import nn

# bump when the entry layout or the key/namespace recipe changes: old
# entries then sit in other namespaces and are never read
CACHE_FORMAT = 'rkd_mm.teacher_cache/1'
DTYPES = {'float32': torch.float32, 'float16': torch.float16}
Runner = Callable[[torch.Tensor], Dict[str, Any]]


class TeacherOutputCache:
    """Keep a frozen teacher's taps per input sample, on disk and in memory.

    The teacher of a distiller never changes and, with its norm layers in
    eval mode, its output for one sample does not depend on the rest of the
    batch. With a finite augmentation set (flips) every training image
    variant recurs, so its taps can be computed once and reused, within a
    run and across the runs that share the teacher.

    *Content-addressed.* An entry's key is a BLAKE2b hash of the exact
    tensor the teacher gets (one sample of the preprocessed batch, or of
    the LR view upsampled for ``@lr`` taps: each LR ratio gives other
    bytes, hence other keys) and of the tap names stored. The entries live
    in a *namespace* directory named by a hash of everything else that
    decides the outputs: the teacher's weights (its loaded ``state_dict``,
    hashed once per run, so a copied or renamed checkpoint shares the
    namespace and a changed one never does), its model config, the tap
    specs (module paths), the stored dtype, and the numerics (device type,
    torch version, CPU threads). A changed image, pipeline, teacher or tap
    therefore gives keys that were never written: a stale entry cannot be
    read.

    *Exact reuse.* The teacher runs on the missing samples as one batch,
    padded to two samples when only one is missing: PyTorch's CPU kernels
    (oneDNN) compute every sample of a batch of two or more alike, but take
    another code path at batch 1, whose rounding differs. So on the CPU an
    entry holds the very bits the online teacher computes for that sample
    in any batch, and a run gives the same numbers with the teacher
    online, a cold or a warm cache (tested). Elsewhere (cuDNN picks
    kernels by batch size) entries may differ from the online outputs by
    float rounding (about 1e-7 relative), and a run's numbers then depend
    on which batch first met each sample at that level. Returned taps are
    always the stored ones, so a cold and a warm cache agree exactly.

    *Storage.* One ``torch.save`` file per entry (a dict of tensors,
    loadable with ``weights_only=True``), written atomically (temporary
    file + ``os.replace``), so processes and DDP ranks can share a
    directory. Entries are also kept in memory up to ``max_memory_gb``
    (first come, first kept: the sampler draws variants uniformly, so
    evicting would not raise the hit rate).

    Args:
        cache_dir: Root directory shared by runs; ``None`` keeps entries in
            memory only (one run).
        dtype: ``'float32'`` (exact) or ``'float16'`` (half the size; the
            taps are then rounded to half precision, cold or warm alike).
        max_memory_gb: In-memory budget in GiB (0: disk only).
    """

    def __init__(self,
                 cache_dir: Optional[str] = None,
                 dtype: str = 'float32',
                 max_memory_gb: float = 4.0) -> None:
        if dtype not in DTYPES:
            raise ValueError(f'teacher_cache dtype={dtype!r}: use one of '
                             f'{sorted(DTYPES)}.')
        if max_memory_gb < 0:
            raise ValueError(f'teacher_cache max_memory_gb={max_memory_gb} '
                             'must be >= 0.')
        if cache_dir is None and max_memory_gb == 0:
            raise ValueError('teacher_cache with cache_dir=None and '
                             'max_memory_gb=0 would store nothing: give a '
                             'cache_dir or a memory budget.')
        self.cache_dir = cache_dir
        self.dtype = DTYPES[dtype]
        self.max_memory_bytes = int(max_memory_gb * 2**30)
        self.namespace: Optional[str] = None
        self.directory: Optional[str] = None
        self.memory: Dict[str, Dict[str, Any]] = {}
        self.memory_bytes = 0
        self.hits = 0
        self.lookups = 0
        self._warned: set = set()

    # ------------------------------------------------------------------
    # namespace
    # ------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        return self.namespace is not None

    def bind(self, teacher: nn.Module, teacher_cfg: dict,
             tap_specs: Dict[str, dict]) -> str:
        """Fix the namespace for this teacher (once, at its first use).

        Called lazily by the distiller, after ``init_weights`` and any move
        to another device, so the hash sees the weights that will run.

        Args:
            teacher: The frozen teacher, weights loaded.
            teacher_cfg: Its model config.
            tap_specs: Parsed teacher tap specs (``FeatureRecorder.specs``).

        Returns:
            str: The namespace (a hex digest).
        """
        params = list(teacher.parameters())
        device = params[0].device.type if params else 'cpu'
        h = hashlib.blake2b(digest_size=16)
        description = dict(
            format=CACHE_FORMAT,
            teacher_cfg=teacher_cfg,
            taps=tap_specs,
            dtype=str(self.dtype),
            device=device,
            torch=torch.__version__,
            # CPU kernels split work by thread, which changes the rounding
            threads=torch.get_num_threads() if device == 'cpu' else None)
        h.update(_canonical_json(description).encode())
        h.update(state_dict_digest(teacher).encode())
        self.namespace = h.hexdigest()
        if self.cache_dir is not None:
            self.directory = osp.join(self.cache_dir, self.namespace)
            os.makedirs(self.directory, exist_ok=True)
            meta = osp.join(self.directory, 'meta.json')
            if not osp.exists(meta):  # for people browsing the directory
                _atomic_write_text(
                    meta, _canonical_json(description, indent=2))
        return self.namespace

    # ------------------------------------------------------------------
    # entries
    # ------------------------------------------------------------------
    @staticmethod
    def key(sample: torch.Tensor, names: Sequence[str]) -> str:
        """The key of one sample's entry: a hash of the teacher's input
        (bytes, shape, dtype) and of the tap names stored."""
        h = hashlib.blake2b(digest_size=20)
        h.update(_canonical_json(dict(
            names=sorted(names), shape=list(sample.shape),
            dtype=str(sample.dtype))).encode())
        h.update(_tensor_bytes(sample))
        return h.hexdigest()

    def _path(self, key: str) -> str:
        return osp.join(self.directory, key[:2], key + '.pt')

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        """An entry from memory, else from disk (then kept in memory)."""
        entry = self.memory.get(key)
        if entry is not None or self.directory is None:
            return entry
        path = self._path(key)
        if not osp.exists(path):
            return None
        try:
            entry = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:  # a damaged file is a miss
            self._warn_once('read', f'teacher cache: cannot read {path} '
                            f'({e}); recomputing it (warned once).')
            return None
        self._remember(key, entry)
        return entry

    def put(self, key: str, entry: Dict[str, Any]) -> None:
        """Store an entry (already in the cache's dtype, on the CPU)."""
        self._remember(key, entry)
        if self.directory is None:
            return
        path = self._path(key)
        try:
            os.makedirs(osp.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), suffix='.tmp')
            try:
                with os.fdopen(fd, 'wb') as f:
                    torch.save(entry, f)
                os.replace(tmp, path)  # atomic: readers never see halves
            finally:
                if osp.exists(tmp):
                    os.remove(tmp)
        except OSError as e:  # e.g. a full disk: keep training
            self._warn_once('write', f'teacher cache: cannot write {path} '
                            f'({e}); new entries stay in memory only '
                            '(warned once).')

    def _remember(self, key: str, entry: Dict[str, Any]) -> None:
        if key in self.memory:
            return
        size = sum(t.numel() * t.element_size() for t in _leaves(entry))
        if self.memory_bytes + size <= self.max_memory_bytes:
            self.memory[key] = entry
            self.memory_bytes += size

    def _warn_once(self, what: str, msg: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            print_log(msg, logger='current', level=logging.WARNING)

    # ------------------------------------------------------------------
    # the batch
    # ------------------------------------------------------------------
    def lookup(self, inputs: torch.Tensor, names: Sequence[str],
               run: Runner) -> Dict[str, Any]:
        """The taps ``names`` for a batch: cached samples are read, the
        others computed with ``run`` and stored.

        Args:
            inputs: The teacher's input batch ``(N, ...)``.
            names: Tap names to return (and store).
            run: ``run(x)`` runs the teacher on a sub-batch and returns its
                recorded taps (batch first).

        Returns:
            dict: ``{name: batch value}`` in the order of ``inputs``, on
            its device and (for float taps) in its dtype.
        """
        if not self.bound:
            raise RuntimeError('TeacherOutputCache.bind(teacher, ...) must '
                               'be called before lookup.')
        names = list(names)
        keys = [self.key(x, names) for x in inputs]
        entries: List[Optional[Dict[str, Any]]] = [self.get(k) for k in keys]
        missing = [i for i, e in enumerate(entries) if e is None]
        self.lookups += len(keys)
        self.hits += len(keys) - len(missing)
        if missing:
            # batch >= 2: the kernels' per-sample path (see the class doc)
            out = run(inputs[missing if len(missing) > 1 else missing * 2])
            absent = [n for n in names if n not in out]
            if absent:
                raise KeyError(f'teacher taps {absent} recorded nothing: '
                               'their modules did not run.')
            for j, i in enumerate(missing):
                # stored and returned alike, so cold == warm bit for bit
                entries[i] = {
                    n: _map(out[n], lambda t, j=j: _store(t[j], self.dtype))
                    for n in names}
                self.put(keys[i], entries[i])
        return {
            n: _stack([e[n] for e in entries], inputs.device, inputs.dtype)
            for n in names}

    def stats(self) -> Dict[str, float]:
        """Hits, lookups, hit rate and in-memory entries so far."""
        return dict(
            hits=self.hits, lookups=self.lookups,
            hit_rate=self.hits / self.lookups if self.lookups else 0.0,
            memory_entries=len(self.memory),
            memory_gb=self.memory_bytes / 2**30)


def state_dict_digest(module: nn.Module) -> str:
    """A hash of a module's ``state_dict`` (names, dtypes, shapes, bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for name, value in sorted(module.state_dict().items()):
        h.update(f'{name}:{value.dtype}:{tuple(value.shape)};'.encode())
        h.update(_tensor_bytes(value))
    return h.hexdigest()


def _tensor_bytes(t: torch.Tensor) -> memoryview:
    flat = t.detach().to('cpu').contiguous().reshape(-1)
    return memoryview(flat.view(torch.uint8).numpy())


def _canonical_json(obj: Any, indent: Optional[int] = None) -> str:
    return json.dumps(obj, sort_keys=True, default=repr, indent=indent)


def _atomic_write_text(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), suffix='.tmp')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def _map(value: Any, fn: Callable[[torch.Tensor], Any]) -> Any:
    """Apply ``fn`` to every tensor of a tap value (tensor, tuple, list)."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_map(v, fn) for v in value)
    raise TypeError(f'the teacher-output cache stores tensors (or tuples/'
                    f'lists of them) with the batch first; a tap recorded '
                    f'a {type(value).__name__}. Tap a module that returns '
                    'tensors, or set model.teacher_cache=None.')


def _leaves(value: Any) -> List[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [t for v in value for t in _leaves(v)]


def _store(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # a compact copy: saving a view would save the whole batch's storage
    t = t.detach().to('cpu', copy=True, memory_format=torch.contiguous_format)
    return t.to(dtype) if t.is_floating_point() else t


def _stack(values: List[Any], device: torch.device,
           dtype: torch.dtype) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor):
        out = torch.stack(values).to(device)
        return out.to(dtype) if out.is_floating_point() else out
    return type(first)(
        _stack([v[k] for v in values], device, dtype)
        for k in range(len(first)))
