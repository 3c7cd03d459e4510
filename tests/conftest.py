"""Shared fixtures: tiny generated data and tiny configs."""
import os
import os.path as osp
import subprocess
import sys
from typing import List

import pytest
import torch

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import Config

from rkd_mm.datasets.defect_synthesis import (DefectDataSettings,
                                              generate_dataset)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'tests', 'data', 'configs')
TINY_LR = osp.join(CONFIGS, 'tiny_fpn_r18_lr.py')
TINY_HR = osp.join(CONFIGS, 'tiny_fpn_r50_hr.py')
TINY_RKD = osp.join(CONFIGS, 'tiny_rkd.py')
TINY_CLS_RKD = osp.join(CONFIGS, 'tiny_cls_rkd.py')
TINY_CLS_LR = osp.join(CONFIGS, 'tiny_cls_lr.py')
# Must match generator_cfg of the tiny configs, so that the fixture's data
# and what the configs would generate agree.
TINY_SETTINGS = DefectDataSettings(
    img_size=64, num_train=8, num_val=4, num_test=4, seed=1)

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """Tools run in-process with ``--threads N`` set torch's threads for
    the whole process: give every test the suite's count back."""
    threads = torch.get_num_threads()
    yield
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def seg_batch(n: int = 2, size: int = 64, seed: int = 0) -> dict:
    """A batch as the segmentation data loader gives it: ``n`` random
    uint8 images ``size``² with random 5-class label maps."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g,
                                    dtype=torch.uint8))
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, 5, (1, size, size), generator=g))
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='session')
def tiny_teacher_ckpt(tmp_path_factory) -> str:
    """A (randomly initialised) tiny teacher saved the way MMEngine does."""
    from mmengine.registry import init_default_scope

    from rkd_mm.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    teacher = MODELS.build(Config.fromfile(TINY_HR).model)
    path = str(tmp_path_factory.mktemp('teacher') / 'teacher.pth')
    torch.save(dict(meta=dict(iter=4), state_dict=teacher.state_dict()),
               path)
    return path


@pytest.fixture(scope='session')
def tiny_data_root(tmp_path_factory) -> str:
    """A tiny generated data set shared by all tests (read-only)."""
    root = str(tmp_path_factory.mktemp('data') / 'defects')
    generate_dataset(root, TINY_SETTINGS)
    return root


FMNIST_FILES = {
    ('train', 'img'): 'train-images-idx3-ubyte.gz',
    ('train', 'label'): 'train-labels-idx1-ubyte.gz',
    ('test', 'img'): 't10k-images-idx3-ubyte.gz',
    ('test', 'label'): 't10k-labels-idx1-ubyte.gz',
}


def write_idx(path: str, array, gz: bool = True) -> None:
    """A uint8 array in the IDX format of (Fashion-)MNIST: magic 0x08
    0x<ndim>, the sizes as big-endian int32, then the bytes; gzipped (as
    Debian ships the files) or not (as mmpretrain's download leaves them)."""
    import gzip
    import struct

    import numpy as np
    array = np.asarray(array).astype(np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(
        f'>{array.ndim}I', *array.shape)
    with (gzip.open if gz else open)(path, 'wb') as f:
        f.write(header + array.tobytes())


@pytest.fixture(scope='session')
def tiny_fmnist_root(tmp_path_factory) -> str:
    """Random 28x28 grey images in Fashion-MNIST's files: 40 train (the
    tiny configs hold the last 8 out for val), 12 test; labels cycle over
    the 10 classes (read-only)."""
    import numpy as np
    root = tmp_path_factory.mktemp('fmnist')
    rng = np.random.default_rng(0)
    for split, n in (('train', 40), ('test', 12)):
        write_idx(str(root / FMNIST_FILES[split, 'img']),
                  rng.integers(0, 256, (n, 28, 28)))
        write_idx(str(root / FMNIST_FILES[split, 'label']),
                  np.arange(n) % 10)
    return str(root)


@pytest.fixture(scope='session')
def tiny_fmnist_reid_root(tmp_path_factory) -> str:
    """The Fashion-MNIST converter's re-ID / face output for fake IDX files
    of 20 train and 20 test images a class, each class a grey level plus
    noise (something to learn); ``market1501/`` and ``lfw_style/`` inside
    (read-only)."""
    import numpy as np
    src = tmp_path_factory.mktemp('fmnist_src')
    rng = np.random.default_rng(0)
    for split in ('train', 'test'):
        labels = rng.permutation(np.repeat(np.arange(10), 20))
        imgs = np.clip(20 * labels[:, None, None] + 30 +
                       rng.normal(0, 15, (len(labels), 28, 28)), 0,
                       255).astype(np.uint8)
        write_idx(str(src / FMNIST_FILES[split, 'img']), imgs)
        write_idx(str(src / FMNIST_FILES[split, 'label']), labels)
    out = str(tmp_path_factory.mktemp('data') / 'fmnist_reid')
    load_tool('dataset_converters/fashion_mnist_to_reid.py').main([
        '--src', str(src), '--out', out, '--max-train-per-id', '16',
        '--num-query', '4', '--val-query', '4', '--val-gallery', '8',
        '--pairs-folds', '2', '--pairs-per-fold', '6'
    ])
    return out


def set_data_root(cfg: Config, data_root: str) -> Config:
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = data_root
    return cfg


def data_root_options(data_root: str) -> List[str]:
    """``--cfg-options`` items that point every loader to ``data_root``."""
    return [
        f'{name}.dataset.data_root={data_root}'
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]


def load_tiny(path: str, data_root: str, work_dir: str) -> Config:
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    return set_data_root(cfg, data_root)


def load_tool(path: str):
    """Import ``tools/<path>`` (e.g. ``'analysis_tools/benchmark.py'``) as a
    module, under a name of its own."""
    import importlib.util
    name = '_tool_' + path.replace('/', '_')[:-len('.py')]
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO, 'tools', path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(args: List[str], cwd: str = REPO,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python <args>`` in the repo; return the finished process."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} failed ({proc.returncode}):\n'
            f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}')
    return proc
