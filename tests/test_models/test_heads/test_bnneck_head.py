"""BNNeckHead: the frozen-shift BN, its two losses against independent
computations, the embedding it predicts, and a tiny mmpretrain classifier
built from a config around it."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS as MMPRE_MODELS
from mmpretrain.structures import DataSample

from rkd_mm.models import BNNeckHead
from rkd_mm.models.losses import TripletLoss
from rkd_mm.registry import MODELS

C, D = 3, 8  # identities, feature width
LABELS = [0, 0, 1, 1, 2, 2]


@pytest.fixture(autouse=True)
def default_scope():
    init_default_scope('mmpretrain')


def samples(labels=LABELS):
    return [DataSample().set_gt_label(y) for y in labels]


def smoothed_ce(logits, labels, eps):
    """Label-smoothed CE, target (1 - eps) one-hot + eps / C, averaged over
    the batch; plain Python in double precision."""
    total = 0.0
    for row, y in zip(logits.double().tolist(), labels):
        top = max(row)
        lse = top + math.log(sum(math.exp(v - top) for v in row))
        q = [(1 - eps) * (k == y) + eps / len(row) for k in range(len(row))]
        total -= sum(qk * (v - lse) for qk, v in zip(q, row))
    return total / len(labels)


def tiny_classifier(head: dict) -> dict:
    """An mmpretrain ImageClassifier config: 2-stage grey ResNet-18 (CIFAR
    stem, width 4 -> 8 channels out), global pooling, ``head``."""
    return dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[128.0],
                               std=[64.0]),
        backbone=dict(type='ResNet_CIFAR', depth=18, in_channels=1,
                      stem_channels=4, base_channels=4, num_stages=2,
                      strides=(1, 2), dilations=(1, 1), out_indices=(1, )),
        neck=dict(type='GlobalAveragePooling'),
        head=head)


def test_layers_and_frozen_bn_shift():
    head = BNNeckHead(num_classes=C, in_channels=D)
    assert head.fc.bias is None and head.fc.weight.shape == (C, D)
    assert not head.bnneck.bias.requires_grad
    assert head.bnneck.weight.requires_grad
    assert torch.equal(head.bnneck.bias, torch.zeros(D))
    # the loss defaults are the paper's
    assert head.loss_module.label_smooth_val == pytest.approx(0.1)
    assert isinstance(head.triplet_loss, TripletLoss)
    assert head.triplet_loss.margin == pytest.approx(0.3)
    feat = torch.randn(6, D)
    assert head((feat, )).shape == (6, C)


def test_losses_match_independent_computation():
    torch.manual_seed(0)
    head = BNNeckHead(num_classes=C, in_channels=D)
    with torch.no_grad():  # a non-trivial BN scale
        head.bnneck.weight.uniform_(0.5, 2.0)
        head.fc.weight.normal_()
    head.train()
    feat = torch.randn(6, D)
    losses = head.loss((torch.randn(6, 4), feat), samples())
    assert set(losses) == {'loss', 'loss_triplet'}

    # training BN: batch mean and biased variance, eps 1e-5, shift 0
    f_bn = (feat - feat.mean(0)) / torch.sqrt(
        feat.var(0, unbiased=False) + 1e-5) * head.bnneck.weight
    logits = f_bn @ head.fc.weight.t()
    assert losses['loss'].item() == pytest.approx(
        smoothed_ce(logits, LABELS, 0.1), rel=1e-5)
    # the triplet loss sees the pre-BN feature
    assert losses['loss_triplet'].item() == pytest.approx(
        TripletLoss(margin=0.3)(feat, torch.tensor(LABELS)).item(),
        rel=1e-6)


def test_backward_leaves_the_bn_shift_alone():
    head = BNNeckHead(num_classes=C, in_channels=D)
    feat = torch.randn(6, D, requires_grad=True)
    losses = head.loss((feat, ), samples())
    sum(losses.values()).backward()
    assert head.bnneck.bias.grad is None
    assert head.bnneck.weight.grad is not None
    assert torch.isfinite(feat.grad).all()


def test_options_without_triplet_and_with_accuracy():
    head = BNNeckHead(num_classes=C, in_channels=D, triplet_loss=None,
                      cal_acc=True, topk=(1, 2))
    losses = head.loss((torch.randn(6, D), ), samples())
    assert set(losses) == {'loss', 'accuracy_top-1', 'accuracy_top-2'}
    head = MODELS.build(dict(
        type='rkd_mm.BNNeckHead', num_classes=C, in_channels=D,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        triplet_loss=dict(type='rkd_mm.TripletLoss', margin=1.0,
                          loss_weight=0.5)))
    assert head.triplet_loss.margin == 1.0
    assert head.triplet_loss.loss_weight == 0.5


def test_predict_writes_the_post_bn_embedding():
    torch.manual_seed(1)
    head = BNNeckHead(num_classes=C, in_channels=D)
    with torch.no_grad():
        head.bnneck.weight.uniform_(0.5, 2.0)
        head.bnneck.running_mean.normal_()
        head.bnneck.running_var.uniform_(0.5, 2.0)
    head.eval()
    feat = torch.randn(4, D)
    expected = (feat - head.bnneck.running_mean) / torch.sqrt(
        head.bnneck.running_var + 1e-5) * head.bnneck.weight

    out = head.predict((feat, ))  # no samples: new ones are made
    assert len(out) == 4 and all(isinstance(s, DataSample) for s in out)
    got = torch.stack([s.embedding for s in out])
    assert torch.allclose(got, expected, atol=1e-6)
    assert 'pred_score' not in out[0]  # no class scores for unseen ids

    given = samples([0, 1, 2, 0])
    out = head.predict((feat, ), given)
    assert out[2] is given[2] and out[2].gt_label.item() == 2
    assert out[2].embedding.shape == (D, )
    assert torch.allclose(out[2].embedding, expected[2], atol=1e-6)
    assert not out[2].embedding.requires_grad


def test_errors_name_the_problem():
    head = BNNeckHead(num_classes=C, in_channels=D)
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        head((torch.randn(2, D, 4, 4), ))
    with pytest.raises(KeyError, match='gt_label'):
        head.loss((torch.randn(2, D), ), [DataSample(), DataSample()])
    with pytest.raises(ValueError, match='positive'):
        BNNeckHead(num_classes=0, in_channels=D)


def test_in_an_mmpretrain_classifier_from_config():
    torch.manual_seed(2)
    model = MMPRE_MODELS.build(tiny_classifier(dict(
        type='rkd_mm.BNNeckHead', num_classes=C, in_channels=D)))
    assert isinstance(model.head, BNNeckHead)
    inputs = torch.randn(6, 1, 16, 16)

    model.train()
    losses = model(inputs, samples(), mode='loss')
    assert set(losses) == {'loss', 'loss_triplet'}
    assert all(torch.isfinite(v) for v in losses.values())

    # distillation taps: neck = pre-BN feature, head.bnneck = embedding,
    # head.fc = ID logits
    seen = {}
    hooks = [m.register_forward_hook(
        lambda mod, args, out, name=name: seen.__setitem__(name, out))
        for name, m in [('neck', model.neck), ('bnneck', model.head.bnneck),
                        ('fc', model.head.fc)]]
    model.eval()
    logits = model(inputs, None, mode='tensor')
    assert logits.shape == (6, C) and torch.equal(seen['fc'], logits)
    out = model(inputs, samples(), mode='predict')
    for h in hooks:
        h.remove()
    emb = torch.stack([s.embedding for s in out])
    assert emb.shape == (6, D) and torch.equal(emb, seen['bnneck'])
    assert seen['neck'][0].shape == (6, D)


def test_classifier_train_and_val_steps():
    """Through the data preprocessor, as the runner's loops call it: a
    step with momentum and weight decay keeps the BN shift at 0."""
    torch.manual_seed(3)
    model = MMPRE_MODELS.build(tiny_classifier(dict(
        type='rkd_mm.BNNeckHead', num_classes=C, in_channels=D)))
    model.init_weights()
    data = dict(
        inputs=[torch.randint(0, 256, (1, 16, 16), dtype=torch.uint8)
                for _ in LABELS],
        data_samples=samples())
    optim = OptimWrapper(torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4))
    w0 = model.head.fc.weight.detach().clone()
    for _ in range(2):
        log = model.train_step(data, optim)
    # mmengine logs the sum under 'loss' (the ID term's key, as in
    # mmpretrain's ClsHead) and the triplet term on its own
    assert set(log) == {'loss', 'loss_triplet'}
    assert log['loss'] > log['loss_triplet']
    assert torch.equal(model.head.bnneck.bias, torch.zeros(D))
    assert not torch.equal(model.head.fc.weight, w0)

    out = model.val_step(data)
    assert len(out) == len(LABELS)
    assert out[0].embedding.shape == (D, )
