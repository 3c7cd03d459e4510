"""GAN losses for the feature discriminator (real = teacher HR features)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from rkd_mm.registry import MODELS

GAN_TYPES = ('vanilla', 'lsgan', 'hinge')


@MODELS.register_module()
class AdversarialLoss(nn.Module):
    """Adversarial loss on discriminator outputs.

    * ``vanilla``: binary cross-entropy on logits (Goodfellow et al. 2014),
      non-saturating for the generator (the student).
    * ``lsgan``: least squares to targets 1 / 0 (Mao et al. 2017).
    * ``hinge``: discriminator ``relu(1 - D(real)) + relu(1 + D(fake))``,
      generator ``-D(fake)`` (Lim & Ye 2017; Miyato et al. 2018).

    The discriminator step calls it with ``is_disc=True`` on real (teacher)
    and fake (student) outputs separately; the student step calls it with
    ``target_is_real=True, is_disc=False`` on the student's outputs, and only
    then is ``loss_weight`` applied (as in mmagic's GANLoss).

    Args:
        gan_type: One of ``'vanilla'``, ``'lsgan'``, ``'hinge'``.
        loss_weight: Multiplier of the student's (generator's) loss.
    """

    def __init__(self, gan_type: str = 'vanilla',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if gan_type not in GAN_TYPES:
            raise ValueError(f'gan_type={gan_type!r}: choose from '
                             f'{GAN_TYPES}.')
        self.gan_type = gan_type
        self.loss_weight = float(loss_weight)

    def forward(self, pred: torch.Tensor, target_is_real: bool,
                is_disc: bool = False) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred: Discriminator outputs (any shape; averaged).
            target_is_real: Whether ``pred`` should be judged real.
            is_disc: True in the discriminator step.

        Returns:
            torch.Tensor: Scalar loss (times ``loss_weight`` unless
            ``is_disc``).
        """
        if self.gan_type == 'vanilla':
            target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
            loss = F.binary_cross_entropy_with_logits(pred, target)
        elif self.gan_type == 'lsgan':
            target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
            loss = F.mse_loss(pred, target)
        elif is_disc:
            sign = -1.0 if target_is_real else 1.0
            loss = F.relu(1.0 + sign * pred).mean()
        else:
            loss = -pred.mean() if target_is_real else pred.mean()
        return loss if is_disc else self.loss_weight * loss
