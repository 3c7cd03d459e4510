"""The generator: determinism, exact masks, the resolution gap, atomicity."""
import filecmp
import multiprocessing as mp
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from rkd_mm.datasets.defect_synthesis import (CLASSES, DefectDataSettings,
                                              ensure_dataset,
                                              generate_dataset, read_meta,
                                              render_sample, sample_rng)
from rkd_mm.datasets.defect_synthesis import generator as gen_module
from rkd_mm.utils.lr_view import downsample_image

SETTINGS = DefectDataSettings(img_size=128, num_train=40, num_val=0,
                              num_test=0, seed=3)


def _samples(n=40, settings=SETTINGS):
    return [render_sample(settings, sample_rng(settings.seed, 'train', i))
            for i in range(n)]


def test_same_seed_writes_identical_files(tmp_path):
    settings = DefectDataSettings(img_size=64, num_train=5, num_val=2,
                                  num_test=2, seed=7)
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    generate_dataset(a, settings)
    generate_dataset(b, settings)
    for sub in ('img_dir/train', 'ann_dir/train', 'img_dir/val',
                'ann_dir/test'):
        names = sorted(os.listdir(osp.join(a, sub)))
        assert names == sorted(os.listdir(osp.join(b, sub)))
        match, mismatch, errors = filecmp.cmpfiles(
            osp.join(a, sub), osp.join(b, sub), names, shallow=False)
        assert not mismatch and not errors
    assert read_meta(a)['settings'] == settings.to_dict()


def test_other_seed_gives_other_images():
    s1 = render_sample(SETTINGS, sample_rng(0, 'train', 0))
    s2 = render_sample(SETTINGS, sample_rng(1, 'train', 0))
    assert not np.array_equal(s1.img, s2.img)


def test_a_sample_does_not_depend_on_the_split_size():
    big = DefectDataSettings(num_train=500, seed=3)
    a = render_sample(SETTINGS, sample_rng(3, 'train', 5))
    b = render_sample(big, sample_rng(3, 'train', 5))
    assert np.array_equal(a.img, b.img) and np.array_equal(a.mask, b.mask)


def test_every_changed_pixel_is_labelled_and_labels_are_in_range():
    for s in _samples():
        assert s.mask.dtype == np.uint8 and s.img.dtype == np.uint8
        assert s.mask.max() < len(CLASSES)
        changed = s.img != s.clean
        # a pixel the defects changed is never labelled background
        assert not np.any(changed & (s.mask == 0))
        if s.kinds:
            labelled = s.mask > 0
            # and nearly every labelled pixel visibly differs
            assert changed[labelled].mean() > 0.9
        else:
            assert not s.mask.any()
        assert set(np.unique(s.mask)) <= {0} | {
            CLASSES.index(k) for k in s.kinds}


def test_all_defect_kinds_occur_with_sensible_sizes():
    samples = _samples(80)
    pixels = np.bincount(
        np.concatenate([s.mask.ravel() for s in samples]),
        minlength=len(CLASSES))
    assert (pixels > 0).all(), dict(zip(CLASSES, pixels))
    share = pixels / pixels.sum()
    assert share[0] > 0.8  # mostly defect-free surface
    assert share[CLASSES.index('stain')] > share[CLASSES.index('scratch')]


def _thickness(mask: np.ndarray) -> float:
    """Mean width of a thin structure: area / skeleton-free length proxy."""
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    return 2 * dist[mask].mean()


def test_scratches_are_thin_lines():
    widths = []
    for s in _samples(80):
        m = s.mask == CLASSES.index('scratch')
        if m.sum() > 30:
            widths.append(_thickness(m))
    assert widths
    # 1-3 px lines: the mean distance to the border stays small
    assert np.median(widths) < 3.5


def test_thin_defects_fade_at_quarter_resolution():
    """The resolution gap is real: a thin defect's contrast against its own
    defect-free surface mostly averages away at x0.25, a stain's does not.

    Contrast = mean absolute change over the defect's pixels (at HR) and over
    the LR pixels that the defect touches (at x0.25).
    """
    fade = {'scratch': [], 'crack': [], 'stain': []}
    for s in _samples(80):
        hr_diff = np.abs(s.img.astype(float) - s.clean)
        lr_diff = np.abs(
            downsample_image(s.img, 0.25).astype(float) -
            downsample_image(s.clean, 0.25))
        for kind in fade:
            m = s.mask == CLASSES.index(kind)
            if m.sum() < 20:
                continue
            lr_m = downsample_image(m.astype(np.uint8) * 255, 0.25) > 0
            fade[kind].append(lr_diff[lr_m].mean() / hr_diff[m].mean())
    assert np.median(fade['scratch']) < 0.5
    assert np.median(fade['crack']) < 0.5
    assert np.median(fade['stain']) > 0.7


def test_settings_validation_names_the_field():
    with pytest.raises(KeyError, match='img_sise'):
        DefectDataSettings.from_dict(dict(img_sise=64))
    with pytest.raises(ValueError, match='textures'):
        DefectDataSettings(textures=('marble', ))
    with pytest.raises(ValueError, match='kind_probs'):
        DefectDataSettings(kind_probs=(1, 1))


def test_generate_never_overwrites(tmp_path):
    out = tmp_path / 'd'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='never overwrites'):
        generate_dataset(str(out), SETTINGS)
    assert (out / 'keep.txt').read_text() == 'mine'


def test_crash_leaves_no_half_written_folder(tmp_path, monkeypatch):
    calls = []

    def failing(root, split, settings):
        calls.append(split)
        raise RuntimeError('disk full')

    monkeypatch.setattr(gen_module, 'write_split', failing)
    out = tmp_path / 'd'
    with pytest.raises(RuntimeError, match='disk full'):
        ensure_dataset(str(out), SETTINGS)
    assert calls and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ['.d.lock']


def _ensure_in_process(args):
    root, settings = args
    return ensure_dataset(root, settings)


def test_concurrent_processes_generate_once(tmp_path):
    settings = DefectDataSettings(img_size=64, num_train=30, num_val=2,
                                  num_test=2, seed=2)
    root = str(tmp_path / 'shared')
    with mp.get_context('spawn').Pool(2) as pool:
        made = pool.map(_ensure_in_process, [(root, settings)] * 2)
    assert sorted(made) == [False, True]
    assert len(os.listdir(osp.join(root, 'img_dir', 'train'))) == 30
    # nothing left over but the lock file
    assert sorted(os.listdir(tmp_path)) == ['.shared.lock', 'shared']
    assert ensure_dataset(root, settings) is False
