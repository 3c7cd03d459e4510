"""Stop a run whose model and data set disagree on the number of classes."""
from typing import Iterator, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from rkd_mm.registry import HOOKS


def _heads_with_num_classes(model: nn.Module
                            ) -> Iterator[Tuple[str, nn.Module]]:
    for name, module in model.named_modules():
        if name.split('.')[-1] in ('decode_head', 'auxiliary_head', 'head') \
                and hasattr(module, 'num_classes'):
            yield name, module


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Check ``num_classes`` of every head against the data set's classes.

    Runs before training, validation and testing. mmseg would otherwise train
    a 19-class head on a 5-class data set without complaint, or fail deep
    inside the loss with a CUDA/CPU index error. Binary heads with
    ``num_classes=1`` (sigmoid) are accepted for two-class data.
    """

    priority = 'VERY_HIGH'

    def _check(self, runner, loader_name: str) -> None:
        loader = getattr(runner, loader_name, None)
        dataset = getattr(loader, 'dataset', None)
        classes = (dataset.metainfo.get('classes')
                   if dataset is not None else None)
        if not classes:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for name, head in _heads_with_num_classes(model):
            n = head.num_classes
            if n == len(classes) or (n == 1 and len(classes) == 2):
                continue
            raise ValueError(
                f'model.{name}.num_classes={n} but the {loader_name} data set '
                f'{type(dataset).__name__} has {len(classes)} classes '
                f'{tuple(classes)}. Set model.{name}.num_classes='
                f'{len(classes)} in the config (or '
                f'--cfg-options model.{name}.num_classes={len(classes)}).')

    def before_train(self, runner) -> None:
        self._check(runner, 'train_dataloader')

    def before_val(self, runner) -> None:
        self._check(runner, 'val_dataloader')

    def before_test(self, runner) -> None:
        self._check(runner, 'test_dataloader')
