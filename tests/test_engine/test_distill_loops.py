"""DistillValLoop: the teacher's HR score is computed once, reported always.
"""
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import TINY_RKD, set_data_root


def test_teacher_scored_once_and_reported_with_every_validation(
        tiny_data_root, tiny_teacher_ckpt, tmp_path):
    init_default_scope('mmseg')
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = tiny_teacher_ckpt
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.default_hooks.checkpoint = None  # validation only: nothing to save
    set_data_root(cfg, tiny_data_root)
    runner = Runner.from_cfg(cfg)

    calls = []
    original = runner.model.teacher_predict

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    runner.model.teacher_predict = counting
    first = runner.val()
    second = runner.val()
    # 4 val images in batches of 2: two teacher batches, in the first run only
    assert len(calls) == 2
    for metrics in (first, second):
        assert 'mIoU' in metrics and 'teacher/mIoU' in metrics
    assert first['teacher/mIoU'] == second['teacher/mIoU']
    # with a random student the scores differ from the teacher's
    assert 'IoU.scratch' in first and 'teacher/IoU.scratch' in first
