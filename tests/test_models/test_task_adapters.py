"""Task adapters: the distiller asks the model which task it belongs to,
and distils an mmpretrain classifier through the same code as a segmentor."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from conftest import TINY_RKD
from rkd_mm.utils.lr_view import downsample_tensor
from rkd_mm.models.algorithms.resolution_aware_distiller import \
    resolve_model_cfg
from rkd_mm.models.task_adapters import (ClassificationAdapter,
                                         EmbeddingAdapter,
                                         SegmentationAdapter,
                                         build_task_adapter)
from rkd_mm.registry import MODELS

PRE = dict(type='mmpretrain.ClsDataPreprocessor', mean=[128.0],
           std=[64.0], num_classes=3)
LR_PRE = dict(PRE, type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5)
FEAT = dict(module='neck', index=0)  # mmpretrain necks return tuples


def classifier(width: int, pre: dict = PRE) -> dict:
    """A tiny grey-input ResNet classifier (2 stages, 3 classes)."""
    return dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=pre,
        backbone=dict(type='mmpretrain.ResNet', depth=18, in_channels=1,
                      stem_channels=width, base_channels=width,
                      num_stages=2, strides=(1, 2), dilations=(1, 1),
                      out_indices=(1, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=3,
                  in_channels=2 * width,
                  loss=dict(type='mmpretrain.CrossEntropyLoss')))


def wiring(tap: str = 'feat', spec=FEAT, connector_width: int = 16,
           **overrides) -> dict:
    """A distiller block: KD on the logits (with the labels), pair-wise
    and MMD on ``tap``, a discriminator on it, all three through one linear
    connector to the teacher's width."""
    s_tap = dict(from_student=True, tap=tap, connector='up')
    t_tap = dict(from_student=False, tap=tap)
    cfg = dict(
        type='rkd_mm.ConfigurableDistiller',
        student_taps={'logits': 'head.fc', tap: spec},
        teacher_taps={'logits': 'head.fc', tap: spec},
        connectors=dict(up=dict(type='rkd_mm.LinearConnector',
                                in_channels=connector_width,
                                out_channels=32)),
        distill_losses=dict(
            loss_kd=dict(type='rkd_mm.ResolutionAwareKDLoss', tau=2.0,
                         class_balance='gt'),
            loss_pair=dict(type='rkd_mm.PairwiseSimilarityLoss'),
            loss_mmd=dict(type='rkd_mm.MMDLoss')),
        loss_inputs=dict(
            loss_kd=dict(preds_S=dict(from_student=True, tap='logits'),
                         preds_T=dict(from_student=False, tap='logits'),
                         gt='gt'),
            loss_pair=dict(preds_S=s_tap, preds_T=t_tap),
            loss_mmd=dict(preds_S=s_tap, preds_T=t_tap)),
        adversarial=dict(
            discriminator=dict(type='rkd_mm.FeatureDiscriminator',
                               in_channels=32),
            tap=tap, connector='up'))
    cfg.update(overrides)
    return cfg


def cls_distiller(**overrides) -> torch.nn.Module:
    cfg = dict(
        type='rkd_mm.ResolutionAwareDistiller',
        student=classifier(8, LR_PRE), teacher=classifier(16),
        distiller=wiring())
    cfg.update(overrides)
    return MODELS.build(cfg)


def cls_batch(n: int = 4, size: int = 16):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (1, size, size), generator=g,
                            dtype=torch.uint8) for _ in range(n)]
    samples = [DataSample().set_gt_label(i % 3) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(autouse=True)
def default_scope():
    init_default_scope('mmpretrain')


def seg_teacher() -> dict:
    return resolve_model_cfg(Config.fromfile(TINY_RKD).model.teacher,
                             'teacher')[0]


def test_the_adapter_is_picked_by_asking_the_model():
    cls = MODELS.build(classifier(8))
    init_default_scope('mmseg')
    seg = MODELS.build(seg_teacher())
    assert isinstance(build_task_adapter(None, seg), SegmentationAdapter)
    assert isinstance(build_task_adapter(None, cls), ClassificationAdapter)
    with pytest.raises(TypeError, match='BaseTaskAdapter subclass'):
        build_task_adapter(None, torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match='does not run a ImageClassifier'):
        build_task_adapter(dict(type='rkd_mm.SegmentationAdapter'), cls)
    assert SegmentationAdapter.metric == 'mIoU'
    assert ClassificationAdapter.default_scope == 'mmpretrain'


def test_labels_come_from_each_tasks_data_samples():
    from mmpretrain.structures import DataSample
    from mmseg.structures import SegDataSample
    maps = torch.randint(0, 5, (2, 1, 4, 6))
    seg = [SegDataSample(gt_sem_seg=PixelData(data=m)) for m in maps]
    assert torch.equal(SegmentationAdapter().labels(seg), maps[:, 0])
    cls = [DataSample().set_gt_label(2), DataSample().set_gt_label(0)]
    assert ClassificationAdapter().labels(cls).tolist() == [2, 0]
    with pytest.raises(KeyError, match='carry no gt_label'):
        ClassificationAdapter().labels([DataSample()])


def test_teacher_of_another_task_is_refused():
    init_default_scope('mmseg')  # the segmentor's unprefixed types
    with pytest.raises(TypeError, match='one task library'):
        cls_distiller(teacher=seg_teacher(), distiller=dict(
            type='rkd_mm.ConfigurableDistiller'))


def test_one_distiller_distils_a_classifier():
    torch.manual_seed(0)
    model = cls_distiller()
    batch = model.data_preprocessor(cls_batch(), True)
    hr, samples = batch['inputs'], batch['data_samples']
    # the KD term against an independent computation: the teacher's HR
    # logits and the student's logits on the LR view, class-balanced by gt
    model.eval()
    with torch.no_grad():
        losses = model(hr, samples, mode='loss')
        pre = model.data_preprocessor
        lr = downsample_tensor(hr, 0.5, pre.mean, pre.std)
        s = model.student(lr, mode='tensor')
        t = model.teacher(hr, mode='tensor')
    assert lr.shape[-2:] == (8, 8)
    kl = (F.softmax(t / 2, 1) *
          (F.log_softmax(t / 2, 1) - F.log_softmax(s / 2, 1))).sum(1)
    gt = torch.tensor([0, 1, 2, 0])
    expected = 4 * torch.stack([kl[gt == c].mean() for c in range(3)]).mean()
    assert losses['distill.loss_kd'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    assert set(losses) >= {'student.loss', 'distill.loss_pair',
                           'distill.loss_mmd'}
    # train: both sides update, the teacher does not
    model.train()
    wrappers = OptimWrapperDict(
        student=OptimWrapper(torch.optim.SGD(
            list(model.student.parameters()) +
            list(model.distiller.connectors.parameters()), lr=0.1)),
        discriminator=OptimWrapper(torch.optim.SGD(
            model.distiller.discriminator.parameters(), lr=0.1)))
    before_s = [p.detach().clone() for p in model.student.parameters()]
    before_t = [p.detach().clone() for p in model.teacher.parameters()]
    log = model.train_step(cls_batch(), wrappers)
    assert {'student.loss', 'distill.loss_kd', 'distill.loss_adv',
            'disc.loss_real', 'disc.loss_fake'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    assert any(not torch.equal(a, b.detach()) for a, b in
               zip(before_s, model.student.parameters()))
    assert all(torch.equal(a, b) for a, b in
               zip(before_t, model.teacher.parameters()))
    # predictions: the student on the LR view, scored as mmpretrain does
    model.eval()
    with torch.no_grad():
        out = model.val_step(cls_batch())
        plain = model.student.predict(
            downsample_tensor(model.data_preprocessor(cls_batch(), False)
                              ['inputs'], 0.5, pre.mean, pre.std))
    assert [o.pred_label.item() for o in out] == \
        [p.pred_label.item() for p in plain]
    assert torch.allclose(torch.stack([o.pred_score for o in out]),
                          torch.stack([p.pred_score for p in plain]))


def embedding_model(width: int, pre: dict = PRE) -> dict:
    """The tiny classifier with a re-ID head (BNNeck, ID CE + triplet)."""
    cfg = classifier(width, pre)
    cfg['head'] = dict(type='rkd_mm.BNNeckHead', num_classes=3,
                       in_channels=2 * width)
    return cfg


def test_an_embedding_model_gets_the_embedding_adapter():
    reid = MODELS.build(embedding_model(8))
    face = classifier(8)
    face['head'] = dict(type='rkd_mm.ArcFaceEmbeddingHead', num_classes=3,
                        in_channels=16)
    assert isinstance(build_task_adapter(None, reid), EmbeddingAdapter)
    assert isinstance(build_task_adapter(None, MODELS.build(face)),
                      EmbeddingAdapter)
    # the narrower adapter is asked first; a plain classifier is not one
    assert not EmbeddingAdapter.accepts(MODELS.build(classifier(8)))
    assert EmbeddingAdapter().labels(
        cls_batch()['data_samples']).tolist() == [0, 1, 2, 0]


def test_one_distiller_distils_an_embedding_model():
    torch.manual_seed(0)
    emb = dict(module='head.bnneck')  # the embedding that is compared
    model = cls_distiller(
        student=embedding_model(8, LR_PRE), teacher=embedding_model(16),
        distiller=wiring('emb', emb))
    assert isinstance(model.task, EmbeddingAdapter)
    model.train()
    wrappers = OptimWrapperDict(
        student=OptimWrapper(torch.optim.SGD(
            list(model.student.parameters()) +
            list(model.distiller.connectors.parameters()), lr=0.1)),
        discriminator=OptimWrapper(torch.optim.SGD(
            model.distiller.discriminator.parameters(), lr=0.1)))
    log = model.train_step(cls_batch(6), wrappers)
    # the student's own ID and triplet losses, and every distillation term
    assert {'student.loss', 'student.loss_triplet', 'distill.loss_kd',
            'distill.loss_pair', 'distill.loss_mmd',
            'distill.loss_adv'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    # predictions: the student's embeddings of the LR view, as the model
    # alone gives them
    model.eval()
    pre = model.data_preprocessor
    with torch.no_grad():
        out = model.val_step(cls_batch())
        plain = model.student.predict(
            downsample_tensor(model.data_preprocessor(cls_batch(), False)
                              ['inputs'], 0.5, pre.mean, pre.std))
    assert torch.allclose(torch.stack([o.embedding for o in out]),
                          torch.stack([p.embedding for p in plain]))
    assert out[0].embedding.shape == (16, )  # the student's width
