"""rkd_mm.apis.loss_gradients.analyse on a hand-made model whose gradients
are known in closed form."""
import pytest
import torch
from torch import nn

from rkd_mm.apis.loss_gradients import analyse


class _Weighted(nn.Module):

    def __init__(self, loss_weight):
        super().__init__()
        self.loss_weight = loss_weight


class ToyDistiller(nn.Module):
    """student: one parameter vector w (2,); task = w . (3, 4);
    distill.loss_a = 2 * w . (0, 1) (weight 2); distill.loss_b has no
    gradient on the student (a constant)."""

    def __init__(self):
        super().__init__()
        self.student = nn.Module()
        self.student.w = nn.Parameter(torch.tensor([1.0, 1.0]))
        self.distiller = nn.Module()
        self.distiller.distill_losses = nn.ModuleDict(
            dict(loss_a=_Weighted(2.0), loss_b=_Weighted(5.0)))
        self.distiller.discriminator = None

    def data_preprocessor(self, data, training):
        return dict(data=data)

    def distill_loss_dict(self):  # marks a distiller for analyse
        raise NotImplementedError

    def forward(self, data, mode):
        w = self.student.w
        return {
            'student.loss_task': w @ torch.tensor([3.0, 4.0]),
            'distill.loss_a': 2.0 * w @ torch.tensor([0.0, 1.0]),
            'distill.loss_b': torch.tensor(7.0) + 0 * w.sum().detach(),
        }


def test_norms_cosines_and_the_calibrated_weight_by_hand():
    table = analyse(ToyDistiller(), [None], target_ratio=0.5)
    assert table['task']['grad_norm'] == pytest.approx(5.0)
    a = table['distill.loss_a']
    assert a['grad_norm'] == pytest.approx(2.0)
    assert a['ratio'] == pytest.approx(0.4)
    assert a['cos_task'] == pytest.approx(4.0 / 5.0)
    # |g_a| = 2 at weight 2; R = 0.5 wants |g_a| = 2.5: weight 2.5
    assert a['new_weight'] == pytest.approx(2.5)
    assert a['cfg_option'] == \
        'model.distiller.distill_losses.loss_a.loss_weight=2.5'
    # no gradient: nothing to calibrate, the weight is left alone
    b = table['distill.loss_b']
    assert b['grad_norm'] == 0 and 'new_weight' not in b
    assert 'no gradient' in b['note']
