"""The config tree's rules (configs/README.md): at most 3 inheritance
levels counting ``cfg_path``, no alias files, a README per folder."""
import ast
import glob
import os.path as osp

import pytest

ROOT = osp.normpath(osp.join(osp.dirname(__file__), '..', '..', 'configs'))
LEAVES = sorted(p for p in glob.glob(osp.join(ROOT, '**', '*.py'),
                                     recursive=True)
                if f'{osp.sep}_base_{osp.sep}' not in p)


def parents(path):
    """The files ``path`` itself inherits: its ``_base_`` entries and the
    ``cfg_path`` of its teacher/student (constants or module-level names,
    ``{{fileDirname}}`` substituted), as normalised paths."""
    here = osp.dirname(path)
    text = open(path).read().replace('{{fileDirname}}', here)
    tree = ast.parse(text)
    names, found = {}, []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value

    def const(node):
        if isinstance(node, ast.Name) and node.id in names:
            node = names[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    base = names.get('_base_')
    if base is not None:
        items = base.elts if isinstance(base, (ast.List, ast.Tuple)) \
            else [base]
        found += [const(item) for item in items]
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == 'cfg_path':
            found.append(const(node.value))
    assert None not in found, f'{path}: a base or cfg_path the test cannot ' \
        'read (write it as a string constant or a module-level name)'
    return [osp.normpath(p if osp.isabs(p) else osp.join(here, p))
            for p in found if '::' not in p]


def depth(path, seen=()):
    assert path not in seen, f'inheritance cycle through {path}'
    assert osp.isfile(path), f'{seen[-1]} inherits {path}, which is missing'
    return max((1 + depth(p, seen + (path, )) for p in parents(path)),
               default=0)


def test_the_rule_reads_cfg_path():
    leaf = osp.join(ROOT, 'rkd', 'defect_seg_r50_to_r18_lr_x0.25.py')
    primitive = osp.join(ROOT, 'rkd', 'defect_seg_r50_to_r18_lr.py')
    assert parents(leaf) == [primitive]
    assert osp.join(ROOT, 'teachers', 'defect_seg_r50_hr.py') in \
        parents(primitive)
    assert depth(leaf) == 3


@pytest.mark.parametrize('path', LEAVES,
                         ids=[osp.relpath(p, ROOT) for p in LEAVES])
def test_at_most_three_levels_and_no_alias(path):
    assert depth(path) <= 3
    body = [node for node in ast.parse(open(path).read()).body
            if not (isinstance(node, ast.Assign)
                    and getattr(node.targets[0], 'id', '') == '_base_')]
    # a file that only composes bases is a primitive (mmseg's teachers);
    # one that only inherits another runnable config is an alias
    runnable = [p for p in parents(path)
                if f'{osp.sep}_base_{osp.sep}' not in p]
    assert body or not runnable, \
        f'{path} only inherits {runnable}: an alias'


def test_every_config_folder_has_a_readme():
    folders = {osp.dirname(p) for p in LEAVES} | {ROOT}
    folders.add(osp.join(ROOT, '_base_'))
    missing = [osp.relpath(f, ROOT) for f in sorted(folders)
               if not osp.isfile(osp.join(f, 'README.md'))]
    assert not missing


@pytest.mark.parametrize('path', LEAVES, ids=lambda p: osp.relpath(p, ROOT))
def test_one_teacher_ckpt_in_a_saved_config(path):
    """The teacher checkpoint lives in ``model.teacher_ckpt`` only: a
    top-level helper variable would be saved beside a user's
    ``--cfg-options model.teacher_ckpt=...`` and mislead whoever reads the
    saved config."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    assert 'teacher_ckpt' not in cfg, path
