"""tools/fill_teacher_cache.py: worker processes fill a shared cache."""
import json
import os

from conftest import TINY_LR, TINY_RKD, run_tool


def pt_files(root):
    return [f for _, _, fs in os.walk(root) for f in fs if f.endswith('.pt')]


def test_two_workers_fill_the_cache_once(tiny_teacher_ckpt, tiny_data_root,
                                         tmp_path):
    cache = tmp_path / 'cache'
    config = tmp_path / 'rkd_cached.py'  # a user's config on ours
    config.write_text(
        f'_base_ = [{TINY_RKD!r}]\n'
        f'model = dict(teacher_ckpt={tiny_teacher_ckpt!r}, teacher_cache='
        f'dict(_delete_=True, cache_dir={str(cache)!r}))\n'
        f'train_dataloader = dict(dataset=dict(data_root='
        f'{tiny_data_root!r}))\n')
    args = ['tools/fill_teacher_cache.py', str(config), '--workers', '2',
            '--threads', '1']
    first = run_tool(args).stdout
    assert '32 variants of 8 training images, 2 worker(s) x 1 thread(s)' \
        in first
    assert 'the teacher ran on 64 new inputs' in first
    assert len(pt_files(cache)) == 32 * 3  # HR feat + logits, @lr logits
    namespaces = os.listdir(cache)
    assert len(namespaces) == 1
    with open(cache / namespaces[0] / 'meta.json') as f:
        assert json.load(f)['numerics']['threads'] == 1
    again = run_tool(args).stdout
    assert 'the teacher ran on 0 new inputs' in again


def test_a_plain_segmentor_config_is_refused(tmp_path):
    proc = run_tool(['tools/fill_teacher_cache.py', TINY_LR], check=False)
    assert proc.returncode != 0
    assert 'not a distiller config' in proc.stderr
