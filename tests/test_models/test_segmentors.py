"""The project's teacher/student configs build, train and predict correctly.

Uses the real configs (R50 teacher, R18 student) at small inputs, and the
tiny test configs where only the mechanics matter.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from conftest import REPO

TEACHER = f'{REPO}/configs/teachers/defect_seg_r50_hr.py'
STUDENT = f'{REPO}/configs/baselines/defect_seg_r18_lr.py'
STUDENT_Q = f'{REPO}/configs/baselines/defect_seg_r18_lr_x0.25.py'


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def _batch(n: int, in_size: int, label_size: int):
    torch.manual_seed(0)
    inputs = [
        torch.randint(0, 256, (3, in_size, in_size), dtype=torch.uint8)
        for _ in range(n)
    ]
    samples = []
    for _ in range(n):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, 5, (1, label_size, label_size)))
        s.set_metainfo(
            dict(img_shape=(in_size, in_size),
                 ori_shape=(label_size, label_size)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('config,in_size', [(TEACHER, 64), (STUDENT, 32)])
def test_build_forward_backward(config, in_size):
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    assert model.decode_head.num_classes == 5
    model.train()
    data = model.data_preprocessor(_batch(2, in_size, 64), True)
    losses = model(**data, mode='loss')
    assert set(losses) >= {'decode.loss_ce', 'decode.loss_lovasz'}
    total = losses['decode.loss_ce'] + losses['decode.loss_lovasz']
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_the_configs_pick_the_intended_architectures():
    teacher = Config.fromfile(TEACHER).model
    student = Config.fromfile(STUDENT).model
    assert (teacher.backbone.type, teacher.backbone.depth) == ('ResNetV1c', 50)
    assert (student.backbone.type, student.backbone.depth) == ('ResNetV1c', 18)
    for m in (teacher, student):
        assert m.decode_head.type == 'FPNHead'
        assert m.backbone.norm_cfg.type == 'BN'
        assert m.backbone.init_cfg is None and m.pretrained is None


def test_lr_logits_are_resized_to_the_hr_label_in_the_loss():
    """A 16x16 LR input trains against a 64x64 label: mmseg's decode head
    resizes the logits to the label size, so no label is downsampled."""
    cfg = Config.fromfile(f'{REPO}/tests/data/configs/tiny_fpn_r18_lr.py')
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(_batch(2, 16, 64), True)
    assert tuple(data['inputs'].shape) == (2, 3, 16, 16)
    assert tuple(data['data_samples'][0].gt_sem_seg.shape) == (64, 64)
    seen = {}
    head = model.decode_head
    original = head.loss_decode[0].forward

    def spy(cls_score, label, *args, **kwargs):
        seen['logits'], seen['label'] = cls_score.shape, label.shape
        return original(cls_score, label, *args, **kwargs)

    head.loss_decode[0].forward = spy
    model(**data, mode='loss')
    assert tuple(seen['logits'][-2:]) == (64, 64)
    assert tuple(seen['label'][-2:]) == (64, 64)


@pytest.mark.parametrize('config,lr', [(STUDENT, 64), (STUDENT_Q, 32)])
def test_lr_prediction_is_upsampled_to_the_hr_mask(config, lr):
    """mmseg resizes predictions to ``ori_shape``: an LR student's output is
    scored at HR size against the HR mask."""
    cfg = Config.fromfile(config)
    # read the LR size from the config's own test pipeline
    lr_op = [t for t in cfg.test_pipeline if 'LRDownsample' in t['type']][0]
    assert int(128 * lr_op['scale_factor']) == lr
    model = MODELS.build(cfg.model)
    model.eval()
    batch = _batch(1, lr, 128)
    with torch.no_grad():
        out = model.test_step(batch)[0]
    assert tuple(out.seg_logits.data.shape) == (5, 128, 128)
    assert tuple(out.pred_sem_seg.data.shape) == (1, 128, 128)
    assert torch.equal(out.pred_sem_seg.data[0],
                       out.seg_logits.data.argmax(0))
