"""Multi-process training of a distiller: each trained part in its own DDP
wrapper, the distiller component's parts included."""
from mmengine.device import get_device
from mmengine.model import (MMDistributedDataParallel,
                            MMSeparateDistributedDataParallel)
from torch import nn

from rkd_mm.registry import MODEL_WRAPPERS

__all__ = ['DistillerDistributedDataParallel']


@MODEL_WRAPPERS.register_module()
class DistillerDistributedDataParallel(MMSeparateDistributedDataParallel):
    """MMEngine's ``MMSeparateDistributedDataParallel`` one level deeper.

    The adversarial step updates the student (with the connectors) and the
    discriminator with separate optimizers, so each needs its own
    ``DistributedDataParallel`` (mmagic's reason for the separate wrapper).
    The connectors and the discriminator live in the ``distiller``
    component (:class:`~rkd_mm.models.distillers.ConfigurableDistiller`),
    which calls them itself: here they are wrapped where they live, each on
    its own, and the component stays a plain module around them. Every
    other direct part (the student; the frozen teacher is moved only) is
    treated as MMEngine's wrapper treats it.

    Args: as ``MMSeparateDistributedDataParallel``.
    """

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False, **kwargs) -> None:
        distiller = module._modules.pop('distiller', None)
        try:
            super().__init__(module, broadcast_buffers,
                             find_unused_parameters, **kwargs)
        finally:
            if distiller is not None:
                module._modules['distiller'] = distiller
        if distiller is None:
            return
        device = get_device()
        distiller.to(device)
        for name, part in list(distiller._modules.items()):
            if part is not None and any(p.requires_grad
                                        for p in part.parameters()):
                distiller._modules[name] = MMDistributedDataParallel(
                    module=part, broadcast_buffers=broadcast_buffers,
                    find_unused_parameters=find_unused_parameters, **kwargs)
