"""The environment shims of rkd_mm.utils.compat do their one job each."""
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from rkd_mm.utils import applied_shims, apply_all


def test_apply_all_is_idempotent():
    before = applied_shims()
    assert apply_all() == before


def test_torchvision_and_task_libraries_import():
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401
    import torchvision

    assert torchvision.__version__


def test_missing_mmcv_op_fails_when_called_with_the_fix():
    if 'mmcv_ext' not in applied_shims():
        pytest.skip('full mmcv with compiled ops is installed')
    import mmcv.ops  # noqa: F401  (imports thanks to the placeholder)
    from mmcv import _ext

    with pytest.raises(RuntimeError,
                       match='op .nms. needs compiled mmcv ops.*mmcv-lite'):
        _ext.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)


def test_mmengine_training_checkpoint_loads(tmp_path):
    """MMEngine pickles message-hub buffers and numpy scalars: these files
    must load through MMEngine's own loader (resume, load_from)."""
    buf = HistoryBuffer()
    buf.update(1.5)
    path = str(tmp_path / 'train.pth')
    torch.save(
        dict(meta=dict(iter=np.int64(3), hub=buf),
             state_dict=dict(w=torch.ones(2))), path)
    ckpt = _load_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['iter'] == 3
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_local_checkpoints_go_through_the_safe_reader(tmp_path):
    """Every MMEngine load of a local path (load_from, resume,
    init_cfg=Pretrained) uses rkd_mm's reader; crafted files: see
    tests/test_utils/test_checkpoint.py."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from rkd_mm.utils import compat
    from rkd_mm.utils.checkpoint import UnsafeCheckpointError

    assert CheckpointLoader._get_checkpoint_loader(
        str(tmp_path / 'x.pth')) is compat._load_local_checkpoint
    plain = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict=dict(w=torch.zeros(3))), plain)
    assert _load_checkpoint(plain)['state_dict']['w'].shape == (3, )
    pickled = str(tmp_path / 'pickled.pth')
    torch.save(dict(meta=dict(f=os.getcwd)), pickled)
    with pytest.raises(UnsafeCheckpointError, match='pickled.pth.*posix'):
        _load_checkpoint(pickled)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        _load_checkpoint(str(tmp_path / 'absent.pth'))


def _ddp_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
        LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    import rkd_mm  # noqa: F401
    from mmengine.dist import get_rank, init_dist
    from mmengine.model import BaseModel, MMDistributedDataParallel
    from mmengine.optim import OptimWrapper

    init_dist('pytorch', backend='nccl')  # what a GPU config asks for
    assert get_rank() == rank

    class Tiny(BaseModel):

        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 1)

        def forward(self, inputs, data_samples=None, mode='loss'):
            return dict(loss=self.fc(inputs).pow(2).mean())

    torch.manual_seed(0)
    model = Tiny()
    ddp = MMDistributedDataParallel(module=model, device_ids=[rank])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    torch.manual_seed(rank + 1)  # each rank sees different data
    ddp.train_step(dict(inputs=torch.randn(8, 4)), optim)
    torch.save(model.state_dict(), os.path.join(out_dir, f'{rank}.pth'))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only shim')
def test_cpu_ddp_trains_in_sync(tmp_path):
    tmp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    w0 = torch.load(tmp_path / '0.pth')
    w1 = torch.load(tmp_path / '1.pth')
    # gradients were averaged over ranks: both replicas stay identical
    for k in w0:
        assert torch.equal(w0[k], w1[k])
    torch.manual_seed(0)
    init = torch.nn.Linear(4, 1).state_dict()
    assert not torch.equal(init['weight'], w0['fc.weight'])


@pytest.mark.parametrize('avg_non_ignore', [True, False])
def test_class_weighted_ce_accepts_ignored_pixels(avg_non_ignore):
    """mmseg's weighted CE on labels with 255 equals torch's weighted CE."""
    from mmseg.models.losses import CrossEntropyLoss

    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 4))
    label[0, :2] = 255
    weights = [1.0, 4.0, 2.0]
    loss = CrossEntropyLoss(class_weight=weights,
                            avg_non_ignore=avg_non_ignore)(
        logits, label, ignore_index=255)
    w = torch.tensor(weights)
    summed = torch.nn.functional.cross_entropy(
        logits, label, weight=w, ignore_index=255, reduction='sum')
    valid = label != 255
    denom = w[label[valid]].sum() + (0 if avg_non_ignore else
                                     (~valid).sum())
    assert loss.item() == pytest.approx((summed / denom).item(), rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
