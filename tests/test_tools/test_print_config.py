"""tools/misc/print_config.py: the merged config and a distiller's
resolved teacher/student models."""
import os.path as osp

import pytest

from conftest import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_prints_the_distillers_resolved_models(capsys, tmp_path):
    tool = load_tool('misc/print_config.py')
    cfg = osp.join(REPO, 'configs', 'rkd', 'defect_seg_r50_to_r18_lr_x0.25.py')
    out = tmp_path / 'cfg.py'
    text = tool.main([cfg, '--cfg-options', 'randomness.seed=3',
                      '--save', str(out)])
    assert text.strip() == capsys.readouterr().out.strip()
    assert 'seed=3' in text
    # the student as built: the x0.25 variant's scale in its preprocessor
    student = text[text.index('# model.student as the distiller'):]
    assert 'scale_factor=0.25' in student
    assert "type='rkd_mm.LREncoderDecoder'" in student
    teacher = text[text.index('# model.teacher'):text.index('# model.student')]
    assert 'depth=50' in teacher and 'scale_factor' not in teacher
    assert out.read_text().count('cfg_path') == 2
    plain = tool.main([cfg, '--no-models'])
    assert '# model.teacher' not in plain


def test_a_typo_in_options_is_refused():
    tool = load_tool('misc/print_config.py')
    cfg = osp.join(REPO, 'configs', 'teachers', 'defect_seg_r50_hr.py')
    with pytest.raises(ValueError, match='randomness'):
        tool.main([cfg, '--cfg-options', 'randomnes.seed=3'])
