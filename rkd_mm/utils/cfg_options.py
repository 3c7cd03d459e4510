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
    """Refuse option keys whose top-level name the config does not know.

    ``Config.merge_from_dict`` accepts any key: a typo such as
    ``randomnes.seed=5`` adds an unused ``randomnes`` entry and the run
    goes on with the default seed. A top-level name is valid if the config
    has it or MMEngine's Runner reads it (``Runner.__init__`` arguments,
    ``model_wrapper_cfg``, ...); nested keys are left to the components,
    which reject unknown arguments when they are built.

    Args:
        cfg: The config the options will be merged into.
        options: The option keys (``'randomness.seed'``, ...); None or empty
            checks nothing.
        option: The command-line option's name, for the message.

    Raises:
        ValueError: For the first unknown top-level name, with the closest
            valid names.
    """
    if not options:
        return
    valid = set(cfg.keys()) | _runner_keys()
    for key in options:
        top = key.split('.', 1)[0]
        if top in valid:
            continue
        close = difflib.get_close_matches(top, sorted(valid), n=3)
        hint = (f'did you mean {" or ".join(repr(c) for c in close)}?'
                if close else
                f'the config\'s top-level keys are {sorted(cfg.keys())}.')
        raise ValueError(
            f'{option} {key}: the config has no top-level key {top!r}; '
            f'{hint} (An unknown key would be silently ignored.)')


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
