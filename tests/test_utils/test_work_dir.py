"""rkd_mm.utils.work_dir: the checkpoint --resume continues from."""
import os
import os.path as osp

from rkd_mm.utils.work_dir import list_checkpoints, resume_checkpoint


def touch(work_dir, *names):
    for name in names:
        open(osp.join(str(work_dir), name), 'wb').close()


def mark(work_dir, entry):
    with open(osp.join(str(work_dir), 'last_checkpoint'), 'w') as f:
        f.write(entry)


def test_lists_only_checkpoint_files(tmp_path):
    touch(tmp_path, 'iter_2.pth', 'best_mIoU_iter_2.pth', 'config.py')
    os.mkdir(tmp_path / 'sub.pth')
    assert [osp.basename(p) for p in list_checkpoints(str(tmp_path))] == [
        'best_mIoU_iter_2.pth', 'iter_2.pth'
    ]


def test_empty_work_dir_has_nothing_to_resume(tmp_path):
    assert resume_checkpoint(str(tmp_path)) == (None, '')
    touch(tmp_path, 'best_mIoU_iter_2.pth')  # not a numbered checkpoint
    assert resume_checkpoint(str(tmp_path))[0] is None


def test_last_checkpoint_entry_is_used_as_written(tmp_path):
    touch(tmp_path, 'iter_2.pth', 'iter_4.pth')
    mark(tmp_path, str(tmp_path / 'iter_2.pth'))
    assert resume_checkpoint(str(tmp_path)) == (str(tmp_path / 'iter_2.pth'),
                                                '')


def test_a_moved_work_dir_resumes_its_own_file(tmp_path):
    touch(tmp_path, 'iter_4.pth')
    mark(tmp_path, '/somewhere/gone/iter_4.pth')
    path, note = resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'iter_4.pth')
    assert 'names /somewhere/gone/iter_4.pth' in note and 'moved' in note


def test_without_last_checkpoint_the_newest_numbered_one(tmp_path):
    touch(tmp_path, 'iter_8.pth', 'iter_10.pth', 'best_mIoU_iter_10.pth')
    path, note = resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'iter_10.pth')  # 10 > 8, not by name
    assert 'newest numbered checkpoint' in note


def test_an_entry_naming_a_deleted_file_falls_back(tmp_path):
    touch(tmp_path, 'iter_2.pth')
    mark(tmp_path, str(tmp_path / 'iter_4.pth'))
    path, note = resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'iter_2.pth')
    assert 'iter_4.pth, which does not exist' in note
