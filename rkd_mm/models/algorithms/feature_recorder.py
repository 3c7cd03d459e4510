"""Record module inputs/outputs by module path (mmrazor-style recorders)."""
from typing import Any, Dict, List, Union

import torch
from torch import nn

TapSpec = Union[str, dict]


class FeatureRecorder:
    """Forward hooks that keep named intermediate tensors of a model.

    A *tap* names what to keep::

        'neck'                                  # output of model.neck
        dict(module='neck', index=3)            # 4th element of a tuple output
        dict(module='decode_head.conv_seg', source='input')  # its input

    Module paths are those of ``model.named_modules()``. A path that does not
    exist is reported at construction with the closest valid paths, so a typo
    in a config stops the run before training.

    Args:
        model: The model to tap.
        taps: ``{name: tap}``.
        owner: ``'student'`` or ``'teacher'`` (for messages).
    """

    def __init__(self, model: nn.Module, taps: Dict[str, TapSpec],
                 owner: str) -> None:
        self.owner = owner
        self.specs = {name: self._parse(spec) for name, spec in taps.items()}
        self.records: Dict[str, Any] = {}
        self._handles = []
        modules = dict(model.named_modules())
        for name, spec in self.specs.items():
            path = spec['module']
            if path not in modules:
                raise KeyError(self._unknown(path, name, list(modules)))
            self._handles.append(modules[path].register_forward_hook(
                self._hook(name, spec)))

    @staticmethod
    def _parse(spec: TapSpec) -> dict:
        if isinstance(spec, str):
            spec = dict(module=spec)
        spec = dict(spec)
        unknown = set(spec) - {'module', 'index', 'source'}
        if 'module' not in spec or unknown:
            raise KeyError(f'A tap is a module path or dict(module=PATH, '
                           f'index=None, source="output"|"input"), got '
                           f'{spec}.')
        spec.setdefault('index', None)
        spec.setdefault('source', 'output')
        if spec['source'] not in ('output', 'input'):
            raise ValueError(f'tap source must be "output" or "input", got '
                             f'{spec["source"]!r}.')
        return spec

    def _unknown(self, path: str, name: str, paths: List[str]) -> str:
        import difflib
        close = difflib.get_close_matches(path, paths, n=5, cutoff=0.5)
        return (f'{self.owner} tap {name!r}: the {self.owner} has no module '
                f'{path!r}. Closest module paths: {close or paths[:8]}.')

    def _hook(self, name: str, spec: dict):

        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            value = inputs if spec['source'] == 'input' else output
            if spec['source'] == 'input' and spec['index'] is None:
                value = inputs[0]
            elif spec['index'] is not None:
                value = value[spec['index']]
            self.records[name] = value

        return hook

    def clear(self) -> None:
        self.records = {}

    def get(self, name: str) -> torch.Tensor:
        if name not in self.records:
            raise KeyError(
                f'{self.owner} tap {name!r} recorded nothing: its module did '
                'not run in this forward pass.')
        return self.records[name]

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
