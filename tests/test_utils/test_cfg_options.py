"""rkd_mm.utils.cfg_options: unknown top-level keys are refused."""
import pytest
from mmengine.config import Config

from conftest import TINY_LR
from rkd_mm.utils.cfg_options import check_cfg_options


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(TINY_LR)


def test_a_typo_names_the_nearest_key(cfg):
    with pytest.raises(ValueError, match=r"--cfg-options randomnes.seed: the "
                       r"config has no top-level key 'randomnes'; did you "
                       r"mean 'randomness'\?"):
        check_cfg_options(cfg, ['train_cfg.max_iters', 'randomnes.seed'])


def test_known_keys_and_runner_arguments_pass(cfg):
    check_cfg_options(cfg, [
        'randomness.seed', 'model.decode_head.num_classes', 'work_dir',
        'model_wrapper_cfg.type', 'experiment_name'
    ])
    check_cfg_options(cfg, None)


def test_without_a_close_key_the_keys_are_listed(cfg):
    with pytest.raises(ValueError, match=r"no top-level key 'zzz'; the "
                       r"config's top-level keys are \[.*'train_cfg'"):
        check_cfg_options(cfg, ['zzz'], option='--cfg-options')
