"""ArcFaceEmbeddingHead: trains exactly as mmpretrain's ArcFaceClsHead and
predicts the pre-logits feature as the embedding."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.models.heads import ArcFaceClsHead
from mmpretrain.registry import MODELS as MMPRE_MODELS
from mmpretrain.structures import DataSample

from rkd_mm.models import ArcFaceEmbeddingHead
from rkd_mm.registry import MODELS

C, D = 3, 8
LABELS = [0, 1, 2, 0]


@pytest.fixture(autouse=True)
def default_scope():
    init_default_scope('mmpretrain')


def samples(labels=LABELS):
    return [DataSample().set_gt_label(y) for y in labels]


def tiny_classifier(head: dict) -> dict:
    """As in test_bnneck_head: a grey 2-stage ResNet-18, 8 channels out."""
    return dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, in_channels=1,
                      stem_channels=4, base_channels=4, num_stages=2,
                      strides=(1, 2), dilations=(1, 1), out_indices=(1, )),
        neck=dict(type='GlobalAveragePooling'),
        head=head)


def arcface_loss_by_hand(feat, weight, labels, scale, margin):
    """CE over ``scale * cos``, with ``cos(theta + m)`` for the target class
    (Deng et al.; theta + m stays below pi for these inputs)."""
    total = 0.0
    for x, y in zip(feat.double().tolist(), labels):
        cos = []
        for w in weight.double().tolist():
            dot = sum(a * b for a, b in zip(x, w))
            cos.append(dot / math.sqrt(sum(a * a for a in x))
                       / math.sqrt(sum(b * b for b in w)))
        assert math.acos(cos[y]) + margin < math.pi
        logits = [scale * (math.cos(math.acos(c) + margin) if k == y else c)
                  for k, c in enumerate(cos)]
        top = max(logits)
        lse = top + math.log(sum(math.exp(v - top) for v in logits))
        total += lse - logits[y]
    return total / len(labels)


def test_training_is_the_parents():
    torch.manual_seed(0)
    head = ArcFaceEmbeddingHead(num_classes=C, in_channels=D, scale=16.0,
                                margins=0.3)
    parent = ArcFaceClsHead(num_classes=C, in_channels=D, scale=16.0,
                            margins=0.3,
                            loss=dict(type='mmpretrain.CrossEntropyLoss'))
    parent.load_state_dict(head.state_dict())
    feat = torch.randn(4, D)
    losses = head.loss((feat, ), samples())
    assert set(losses) == {'loss'}
    assert losses['loss'].item() == pytest.approx(
        parent.loss((feat, ), samples())['loss'].item(), rel=1e-6)
    assert losses['loss'].item() == pytest.approx(arcface_loss_by_hand(
        feat, head.norm_product.weight, LABELS, 16.0, 0.3), rel=1e-5)
    # mode='tensor': scaled cosines, no margin
    assert torch.allclose(head((feat, )), parent((feat, )))
    assert head((feat, )).shape == (4, C)


def test_predict_writes_the_pre_logits_feature():
    head = ArcFaceEmbeddingHead(num_classes=C, in_channels=D)
    feat = torch.randn(4, D)
    out = head.predict((torch.randn(4, 2), feat))
    assert len(out) == 4 and all(isinstance(s, DataSample) for s in out)
    assert torch.equal(torch.stack([s.embedding for s in out]), feat)
    assert 'pred_score' not in out[0]
    given = samples()
    out = head.predict((feat, ), given)
    assert out[1] is given[1] and torch.equal(out[1].embedding, feat[1])


def test_registered_and_errors():
    head = MODELS.build(dict(type='rkd_mm.ArcFaceEmbeddingHead',
                             num_classes=C, in_channels=D, margins=0.2))
    assert isinstance(head, ArcFaceEmbeddingHead)
    assert torch.allclose(head.margins, torch.full((C, ), 0.2))
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        head.predict((torch.randn(2, D, 3, 3), ))


def test_in_an_mmpretrain_classifier_from_config():
    torch.manual_seed(1)
    model = MMPRE_MODELS.build(tiny_classifier(dict(
        type='rkd_mm.ArcFaceEmbeddingHead', num_classes=C, in_channels=D)))
    assert isinstance(model.head, ArcFaceEmbeddingHead)
    inputs = torch.randn(4, 1, 16, 16)
    model.train()
    losses = model(inputs, samples(), mode='loss')
    assert set(losses) == {'loss'} and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert model.head.norm_product.weight.grad is not None

    model.eval()
    logits = model(inputs, None, mode='tensor')
    assert logits.shape == (4, C)
    assert logits.abs().max().item() <= model.head.scale + 1e-4
    out = model(inputs, samples(), mode='predict')
    emb = torch.stack([s.embedding for s in out])
    assert emb.shape == (4, D)
    assert torch.allclose(emb, model.extract_feat(inputs)[-1])
