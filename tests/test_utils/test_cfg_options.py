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


@pytest.fixture(scope='module')
def rkd_cfg():
    import rkd_mm  # noqa: F401  (registers the components the check asks)
    from conftest import TINY_RKD
    return Config.fromfile(TINY_RKD)


@pytest.mark.parametrize('key,message', [
    ('train_cfg.max_iter', r"train_cfg \('IterBasedTrainLoop'\) has no "
     r"argument 'max_iter'; did you mean 'max_iters'"),
    ('model.distiller.distill_losses.loss_kd.loss_weigth',
     r"loss_kd \('rkd_mm.ResolutionAwareKDLoss'\) has no argument "
     r"'loss_weigth'; did you mean 'loss_weight'\?"),
    ('train_dataloader.dataset.metainfo.clases',
     r"metainfo has no key 'clases'; did you mean 'classes'\?"),
    ('randomness.sed', r"randomness has no key 'sed'; did you mean 'seed'"),
    ('custom_hooks.9.priority', r'custom_hooks is a list of \d; index it '
     r'by position'),
    ('optim_wrapper.student.optimizer.lrr', r"'AdamW'\) has no argument "
     r"'lrr'; did you mean 'lr'\?"),
])
def test_a_nested_typo_is_refused_before_anything_is_built(
        rkd_cfg, key, message):
    with pytest.raises(ValueError, match=message):
        check_cfg_options(rkd_cfg, [key])


def test_nested_keys_a_component_takes_pass(rkd_cfg):
    check_cfg_options(rkd_cfg, [
        'train_cfg.val_begin',  # an argument the config does not set
        'model.distiller.distill_losses.loss_kd.loss_weight',
        'model.distiller.distill_losses.loss_new',  # a new table entry
        'model.student.data_preprocessor.scale_factor',  # a cfg_path model
        'train_dataloader.dataset.metainfo.classes',
        'custom_hooks.0.priority', 'randomness.deterministic',
        'model.teacher_ckpt',
    ])


def test_the_arguments_of_a_class_follow_its_kwargs_to_the_bases():
    from mmengine.hooks import CheckpointHook
    from mmseg.datasets import BaseSegDataset

    from rkd_mm.datasets import SyntheticDefectDataset
    from rkd_mm.utils.cfg_options import _init_arguments
    # SyntheticDefectDataset(**kwargs) -> BaseSegDataset(...) -> BaseDataset
    args = _init_arguments(SyntheticDefectDataset)
    assert {'data_root', 'pipeline', 'img_suffix', 'lazy_init'} <= args
    assert _init_arguments(BaseSegDataset) <= args
    assert _init_arguments(CheckpointHook) is None  # takes any keyword
