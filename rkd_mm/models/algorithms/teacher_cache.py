"""Content-addressed cache of a frozen teacher's recorded outputs."""
import hashlib
import importlib
import json
import logging
import os
import os.path as osp
import re
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import nn

from rkd_mm.utils.machine import cpu_numerics
from .feature_recorder import FeatureRecorder

# bump when the entry layout or the key/namespace recipe changes: old
# entries then sit in other namespaces and are never read
CACHE_FORMAT = 'rkd_mm.teacher_cache/2'
DTYPES = {'float32': torch.float32, 'float16': torch.float16}
# packages whose version is part of the namespace: an upgrade of any of them
# (kernels, the model code, the project's own ops) never reads old numbers
VERSIONED_PACKAGES = ('torch', 'numpy', 'mmengine', 'mmcv', 'mmseg',
                      'rkd_mm')
Runner = Callable[[torch.Tensor], Dict[str, Any]]


class TeacherOutputCache:
    """Keep a frozen teacher's taps per input sample, on disk and in memory.

    The teacher of a distiller never changes and, with its norm layers in
    eval mode, its output for one sample does not depend on the rest of the
    batch. With a finite augmentation set (flips) every training image
    variant recurs, so its taps can be computed once and reused, within a
    run and across the runs, methods and seeds that share the teacher.

    *Content-addressed, per tap.* An entry is one tap of one sample. The
    sample's key is a BLAKE2b hash of the exact tensor the teacher gets
    (one sample of the preprocessed batch, or of the LR view upsampled for
    ``@lr`` taps: each LR ratio gives other bytes, hence other keys). The
    tap is identified by its *spec* (module path, ``source``, ``index``),
    not by its name: a KD run's ``logits`` reads what an RKD run stored
    under its own ``logits`` when both tap the same module, and two configs
    that call different modules ``feat`` never meet. Each tap is stored
    and read on its own, so a run that needs a tap nobody stored yet runs
    the teacher for those samples and adds that tap only; the taps already
    stored are returned as stored (bit-identical to a fresh forward on the
    CPU, see below) and never rewritten.

    *Namespace.* Entries live in a namespace directory named by a hash of
    everything else that decides the outputs: the teacher's weights (its
    loaded ``state_dict``, hashed once per run, so a copied or renamed
    checkpoint shares the namespace and a changed one never does), its
    model config, the stored dtype, the numerics (device type; on the CPU
    the thread count, ATen's CPU capability and the float32 matmul
    precision; on a GPU the CUDA and cuDNN versions, the device name and
    the TF32 switches) and the versions of :data:`VERSIONED_PACKAGES`. A
    changed image, pipeline, teacher, tap or library therefore gives keys
    that were never written: a stale entry cannot be read. ``meta.json``
    in the namespace holds that description, ``tap.json`` in each tap
    directory the tap's spec.

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

    *Storage.* ``<cache_dir>/<namespace>/<tap>/<key[:2]>/<key>.pt``: one
    ``torch.save`` file per sample and tap (the tap's tensor, or tuple of
    tensors; loadable with ``weights_only=True``). Files are written to a
    temporary name in the same directory and renamed (``os.replace``,
    atomic), so processes and DDP ranks can share a directory and a reader
    sees a whole file or none; two writers of one entry write the same
    bytes (on the CPU) and the last rename wins. An unreadable file is a
    miss (warned once) and is rewritten. Entries are also kept in memory
    up to ``max_memory_gb`` (first come, first kept: the sampler draws
    variants uniformly, so evicting would not raise the hit rate).

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
        self.description: Optional[dict] = None
        self.taps: Dict[str, str] = {}  # tap name -> tap id (its spec)
        # (tap id, sample key) -> the tap's value for that sample
        self.memory: Dict[Tuple[str, str], Any] = {}
        self.memory_bytes = 0
        self.hits = 0  # samples whose every asked tap was stored
        self.lookups = 0
        self.tap_hits = 0  # (sample, tap) pairs read
        self.tap_lookups = 0
        self._warned: set = set()

    # ------------------------------------------------------------------
    # namespace
    # ------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        return self.namespace is not None

    def bind(self, teacher: nn.Module, teacher_cfg: dict,
             tap_specs: Dict[str, Any]) -> str:
        """Fix the namespace for this teacher (once, at its first use).

        Called lazily by the distiller, after ``init_weights`` and any move
        to another device, so the hash sees the weights that will run.

        Args:
            teacher: The frozen teacher, weights loaded.
            teacher_cfg: Its model config.
            tap_specs: Teacher tap specs by name (``FeatureRecorder.specs``;
                a module path string or ``dict(module, index, source)``).
                They name the tap directories, not the namespace.

        Returns:
            str: The namespace (a hex digest).
        """
        params = list(teacher.parameters())
        device = params[0].device if params else torch.device('cpu')
        description = dict(
            format=CACHE_FORMAT,
            teacher_weights=state_dict_digest(teacher),
            teacher_cfg=teacher_cfg,
            dtype=str(self.dtype),
            numerics=numerics(device),
            versions=library_versions())
        h = hashlib.blake2b(digest_size=16)
        h.update(_canonical_json(description).encode())
        self.taps = {name: tap_id(spec) for name, spec in tap_specs.items()}
        self.description = description
        self.namespace = h.hexdigest()
        if self.cache_dir is not None:
            self.directory = osp.join(self.cache_dir, self.namespace)
            os.makedirs(self.directory, exist_ok=True)
            # for people browsing the directory
            _write_once(osp.join(self.directory, 'meta.json'),
                        _canonical_json(description, indent=2))
            for spec in tap_specs.values():
                folder = osp.join(self.directory, tap_id(spec))
                os.makedirs(folder, exist_ok=True)
                _write_once(osp.join(folder, 'tap.json'),
                            _canonical_json(canonical_spec(spec), indent=2))
        return self.namespace

    # ------------------------------------------------------------------
    # entries
    # ------------------------------------------------------------------
    @staticmethod
    def key(sample: torch.Tensor) -> str:
        """The key of one sample: a hash of the teacher's input (bytes,
        shape, dtype)."""
        h = hashlib.blake2b(digest_size=20)
        h.update(_canonical_json(dict(
            shape=list(sample.shape), dtype=str(sample.dtype))).encode())
        h.update(_tensor_bytes(sample))
        return h.hexdigest()

    def _path(self, tap: str, key: str) -> str:
        return osp.join(self.directory, tap, key[:2], key + '.pt')

    def get(self, tap: str, key: str) -> Optional[Any]:
        """One tap of one sample from memory, else from disk (then kept in
        memory); ``None`` if not stored."""
        value = self.memory.get((tap, key))
        if value is not None or self.directory is None:
            return value
        path = self._path(tap, key)
        if not osp.exists(path):
            return None
        try:
            value = torch.load(path, map_location='cpu', weights_only=True)
            _leaves(value)  # tensors, or tuples/lists of them
        except Exception as e:  # a damaged file is a miss
            self._warn_once('read', f'teacher cache: cannot read {path} '
                            f'({e}); recomputing it (warned once).')
            return None
        self._remember((tap, key), value)
        return value

    def put(self, tap: str, key: str, value: Any) -> None:
        """Store one tap of one sample (already in the cache's dtype, on
        the CPU)."""
        self._remember((tap, key), value)
        if self.directory is None:
            return
        path = self._path(tap, key)
        try:
            os.makedirs(osp.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=osp.dirname(path),
                                       prefix=f'.{key}.', suffix='.tmp')
            try:
                with os.fdopen(fd, 'wb') as f:
                    torch.save(value, f)
                os.replace(tmp, path)  # atomic: readers never see halves
            finally:
                if osp.exists(tmp):
                    os.remove(tmp)
        except OSError as e:  # e.g. a full disk: keep training
            self._warn_once('write', f'teacher cache: cannot write {path} '
                            f'({e}); new entries stay in memory only '
                            '(warned once).')

    def _remember(self, slot: Tuple[str, str], value: Any) -> None:
        if slot in self.memory:
            return
        size = sum(t.numel() * t.element_size() for t in _leaves(value))
        if self.memory_bytes + size <= self.max_memory_bytes:
            self.memory[slot] = value
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
        """The taps ``names`` for a batch: stored ones are read; the
        teacher runs (with ``run``) on the samples that miss any of them,
        and only their missing taps are stored.

        Args:
            inputs: The teacher's input batch ``(N, ...)``.
            names: Tap names to return (and store), among those given to
                :meth:`bind`.
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
        unknown = [n for n in names if n not in self.taps]
        if unknown:
            raise KeyError(f'teacher cache: taps {unknown} were not given '
                           f'to bind() (it got {sorted(self.taps)}).')
        taps = [self.taps[n] for n in names]
        wanted = list(dict.fromkeys(taps))  # two names, one spec: one tap
        keys = [self.key(x) for x in inputs]
        found: List[Dict[str, Any]] = [
            {t: self.get(t, k) for t in wanted} for k in keys]
        missing = [i for i, f in enumerate(found)
                   if any(v is None for v in f.values())]
        self.lookups += len(keys)
        self.hits += len(keys) - len(missing)
        self.tap_lookups += len(keys) * len(wanted)
        self.tap_hits += sum(v is not None for f in found for v in f.values())
        if missing:
            # batch >= 2: the kernels' per-sample path (see the class doc)
            out = run(inputs[missing if len(missing) > 1 else missing * 2])
            needed = {}  # tap id -> a name it is recorded under
            for n, t in zip(names, taps):
                if any(found[i][t] is None for i in missing):
                    needed.setdefault(t, n)
            absent = [n for n in needed.values() if n not in out]
            if absent:
                raise KeyError(f'teacher taps {absent} recorded nothing: '
                               'their modules did not run.')
            for j, i in enumerate(missing):
                for t, n in needed.items():
                    if found[i][t] is not None:  # stored: returned as is
                        continue
                    # stored and returned alike, so cold == warm bit for bit
                    found[i][t] = _map(
                        out[n], lambda v, j=j: _store(v[j], self.dtype))
                    self.put(t, keys[i], found[i][t])
        return {
            n: _stack([f[t] for f in found], inputs.device, inputs.dtype)
            for n, t in zip(names, taps)}

    def has(self, tap: str, key: str) -> bool:
        """Whether one tap of one sample is stored (in memory, or as a file
        on disk; the file is not read)."""
        if (tap, key) in self.memory:
            return True
        return self.directory is not None and osp.exists(
            self._path(tap, key))

    def fill(self, inputs: torch.Tensor, names: Sequence[str],
             run: Runner) -> int:
        """Store the taps ``names`` of every sample of ``inputs`` that
        lacks one, without reading what is stored.

        Ahead-of-training filling (``tools/fill_teacher_cache.py``): the
        samples whose taps are all stored cost a hash and a file check;
        the others go through :meth:`lookup`, so their entries are the
        bytes a training run would store.

        Returns:
            int: How many samples the teacher ran on.
        """
        if not self.bound:
            raise RuntimeError('TeacherOutputCache.bind(teacher, ...) must '
                               'be called before fill.')
        taps = list(dict.fromkeys(self.taps[n] for n in names))
        keys = [self.key(x) for x in inputs]
        missing = [i for i, k in enumerate(keys)
                   if not all(self.has(t, k) for t in taps)]
        if missing:
            self.lookup(inputs[missing], names, run)
        return len(missing)

    def stats(self) -> Dict[str, float]:
        """Hits, lookups, hit rate (samples, and taps) and in-memory
        entries so far."""
        return dict(
            hits=self.hits, lookups=self.lookups,
            hit_rate=self.hits / self.lookups if self.lookups else 0.0,
            tap_hits=self.tap_hits, tap_lookups=self.tap_lookups,
            tap_hit_rate=self.tap_hits / self.tap_lookups
            if self.tap_lookups else 0.0,
            memory_entries=len(self.memory),
            memory_gb=self.memory_bytes / 2**30)


def canonical_spec(spec: Any) -> dict:
    """A tap spec with its defaults filled in (``module``, ``source``,
    ``index``): what decides the recorded value, whatever its name."""
    spec = FeatureRecorder._parse(spec)
    return dict(module=spec['module'], source=spec['source'],
                index=spec['index'])


def tap_id(spec: Any) -> str:
    """The directory name of a tap: readable, plus a hash of its spec
    (e.g. ``decode_head.conv_seg.output-1f0c...``)."""
    spec = canonical_spec(spec)
    digest = hashlib.blake2b(_canonical_json(spec).encode(),
                             digest_size=8).hexdigest()
    label = f'{spec["module"]}.{spec["source"]}'
    if spec['index'] is not None:
        label += f'.{spec["index"]}'
    label = re.sub(r'[^A-Za-z0-9_.]+', '_', label)[:80]
    return f'{label}-{digest}'


def library_versions() -> Dict[str, Optional[str]]:
    """``__version__`` of each of :data:`VERSIONED_PACKAGES` (``None``
    where it is not installed), read when a cache is bound."""
    versions: Dict[str, Optional[str]] = {}
    for name in VERSIONED_PACKAGES:
        try:
            module = importlib.import_module(name)
        except Exception:  # not installed (or broken): recorded as such
            versions[name] = None
            continue
        version = getattr(module, '__version__', None)
        versions[name] = None if version is None else str(version)
    return versions


def numerics(device: torch.device) -> Dict[str, Any]:
    """What, besides the library versions, decides the rounding of the
    teacher's outputs on ``device``."""
    info: Dict[str, Any] = dict(
        device=device.type,
        float32_matmul_precision=torch.get_float32_matmul_precision())
    if device.type == 'cpu':
        # CPU kernels split work by thread, which changes the rounding;
        # the capability (AVX2, AVX512, ...) picks the vectorised kernels
        info['threads'] = torch.get_num_threads()
        get = getattr(torch.backends.cpu, 'get_cpu_capability', None)
        info['cpu_capability'] = get() if get is not None else None
        # the CPU itself and the caps on its kernels' instruction set: an
        # AMD and an Intel CPU with the same capability round differently
        cpu = cpu_numerics()
        info.update(cpu_model=cpu['cpu_model'], cpu_isa=cpu['cpu_isa'],
                    onednn=cpu['onednn'], numerics_env=cpu['env'])
    elif device.type == 'cuda':
        info.update(
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
            tf32_cudnn=torch.backends.cudnn.allow_tf32)
        try:
            info['gpu'] = torch.cuda.get_device_name(device)
        except Exception:  # not visible from here: recorded as unknown
            info['gpu'] = None
    return info


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


def _write_once(path: str, text: str) -> None:
    """Write a small text file atomically unless it exists (concurrent
    writers write the same text)."""
    if osp.exists(path):
        return
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), prefix='.',
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


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
    """The tensors of a stored tap value; a ``TypeError`` for anything
    else (a damaged or foreign file)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _leaves(v)]
    raise TypeError(f'not a tap value: {type(value).__name__}')


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
