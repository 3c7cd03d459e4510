"""Check ``--cfg-options`` keys before they are merged into a config."""
import difflib
import inspect
from typing import Dict, Iterable, Optional, Set

from mmengine.config import Config

__all__ = ['check_cfg_options', 'flatten_config']

# top-level keys MMEngine's Runner (and the tools) read even when a config
# does not set them
_RUNNER_KEYS = frozenset({
    'compile', 'custom_imports', 'gpu_ids', 'model_wrapper_cfg',
    'runner_type', 'work_dir'
})


def _runner_keys() -> Set[str]:
    from mmengine.runner import Runner
    params = inspect.signature(Runner.__init__).parameters
    return (set(params) - {'self', 'cfg'}) | _RUNNER_KEYS


def check_cfg_options(cfg: Config, options: Optional[Iterable[str]],
                      option: str = '--cfg-options') -> None:
    """Refuse option keys the config and its components do not know.

    ``Config.merge_from_dict`` accepts any key: a typo such as
    ``randomnes.seed=5`` adds an unused ``randomnes`` entry and the run goes
    on with the default seed, and ``train_cfg.max_iter=4`` is refused by the
    loop only when the Runner builds it, hundreds of log lines later. So
    every level is checked here, before anything is built:

    * a top-level name is valid if the config has it or MMEngine's Runner
      reads it (``Runner.__init__`` arguments, ``model_wrapper_cfg``, ...);
    * below it, a key the config already has is valid; a new key of a
      component (a dict with ``type``) must be an argument of that class
      (its ``__init__`` and the bases its ``**kwargs`` reach; a class that
      takes any keyword passes everything); ``randomness`` takes
      ``Runner.set_randomness``'s arguments and a dataset's ``metainfo``
      its ``METAINFO`` keys plus ``classes`` and ``palette``; other plain
      dicts (a loss table, a hook table) may get new entries;
    * a list is indexed by position (``custom_hooks.0.priority``).

    Args:
        cfg: The config the options will be merged into.
        options: The option keys (``'randomness.seed'``, ...); None or empty
            checks nothing.
        option: The command-line option's name, for the message.

    Raises:
        ValueError: For the first unknown key, with the closest valid names
            at its level.
    """
    if not options:
        return
    valid = set(cfg.keys()) | _runner_keys()
    for key in options:
        top = key.split('.', 1)[0]
        if top not in valid:
            close = difflib.get_close_matches(top, sorted(valid), n=3)
            hint = (f'did you mean {" or ".join(repr(c) for c in close)}?'
                    if close else
                    f'the config\'s top-level keys are {sorted(cfg.keys())}.')
            raise ValueError(
                f'{option} {key}: the config has no top-level key {top!r}; '
                f'{hint} (An unknown key would be silently ignored.)')
        problem = _nested_problem(cfg, key, cfg.get('default_scope'))
        if problem:
            raise ValueError(f'{option} {key}: {problem}')


def _nested_problem(cfg: Config, key: str,
                    scope: Optional[str]) -> Optional[str]:
    """Why ``key`` (dotted) is not a key of ``cfg``, or None."""
    parts = key.split('.')
    node = cfg.get(parts[0])
    path = parts[0]
    for part in parts[1:]:
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return (f'{path} is a list of {len(node)}; index it by '
                        f'position (0..{len(node) - 1}).')
            node = node[int(part)]
        elif isinstance(node, dict):
            if part in node:
                node = node[part]
            else:
                allowed = _allowed_keys(node, path, scope)
                if allowed is not None and part not in allowed:
                    return _unknown(node, path, part, allowed)
                # a new entry: only a new metainfo is checked further
                node = {} if part == 'metainfo' else None
        else:
            return None  # a value replaced whole, or a new one
        path = f'{path}.{part}'
    return None


def _unknown(node: dict, path: str, part: str, allowed: Set[str]) -> str:
    close = difflib.get_close_matches(part, sorted(allowed), n=3)
    hint = (f'did you mean {" or ".join(repr(c) for c in close)}?'
            if close else f'it takes {sorted(allowed)}.')
    what = (f'{path} ({node["type"]!r}) has no argument' if 'type' in node
            else f'{path} has no key')
    return (f'{what} {part!r}; {hint} (The run would fail on it, or ignore '
            'it, only after it started.)')


def _allowed_keys(node: dict, path: str,
                  scope: Optional[str]) -> Optional[Set[str]]:
    """The keys ``node`` may get, or None for any."""
    if path == 'randomness':
        from mmengine.runner import Runner
        return set(inspect.signature(Runner.set_randomness).parameters) - \
            {'self'}
    if path.endswith('.metainfo'):
        return None if 'type' in node else {'classes', 'palette',
                                            'label_map'} | _METAINFO_KEYS
    if 'type' not in node:
        return None
    cls = _find_class(node['type'], scope)
    return None if cls is None else _init_arguments(cls)


#: keys of datasets' METAINFO the metainfo check accepts without its class
_METAINFO_KEYS = frozenset({'reduce_zero_label', 'categories'})


#: the registries whose ``type`` names a config's components use
_REGISTRIES = ('MODELS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'HOOKS',
               'LOOPS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
               'OPTIMIZERS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
               'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
               'MODEL_WRAPPERS', 'RUNNERS')


def _find_class(type_: object, scope: Optional[str]) -> Optional[type]:
    """The class a ``type`` names, looked up in MMEngine's registries in the
    config's scope; None when no registry knows it."""
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    from mmengine import registry as mmengine_registry
    for name in _REGISTRIES:
        root = getattr(mmengine_registry, name)
        # the scope's child registry where there is one (mmseg's MODELS),
        # else the root, which resolves 'scope.Name' through its children
        registry = root.children.get(scope, root) if scope else root
        try:
            cls = registry.get(type_)
        except (KeyError, ImportError, AttributeError):
            cls = None
        if isinstance(cls, type):
            return cls
    return None


def _init_arguments(cls: type) -> Optional[Set[str]]:
    """Keyword arguments ``cls(...)`` accepts: ``__init__``'s, and those of
    the bases its ``**kwargs`` are handed to; None when any is accepted
    (the chain ends in ``**kwargs`` nobody names)."""
    names: Set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names - {'self'}
    return None  # object.__init__ reached through **kwargs: anything goes


def flatten_config(value, prefix: str = '') -> Dict[str, object]:
    """``{'a.b.0': leaf}`` for nested dicts and sequences (an empty one is
    a leaf): the form in which two configs are compared or hashed."""
    if isinstance(value, dict) and value:
        items = value.items()
    elif isinstance(value, (list, tuple)) and value:
        items = enumerate(value)
    else:
        return {prefix: value}
    out: Dict[str, object] = {}
    for key, item in items:
        out.update(
            flatten_config(item, f'{prefix}.{key}' if prefix else str(key)))
    return out
