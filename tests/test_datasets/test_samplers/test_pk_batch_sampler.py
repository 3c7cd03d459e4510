"""PKBatchSampler: P distinct identities x K images per batch, draws with
and without replacement, determinism per seed / rank / epoch, length,
bad settings, and an MMEngine data loader built from the config."""
import itertools
from collections import Counter

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from reid_face_fixtures import make_market1501
from rkd_mm.datasets import Market1501Dataset, PKBatchSampler
from rkd_mm.datasets.samplers import pk_batch_sampler
from rkd_mm.registry import DATA_SAMPLERS


class Labels:
    """The least a data set must offer: a length and its labels."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


# 6 identities: 5, 4, 3, 2, 1 and 6 images (labels not contiguous)
SIZES = {10: 5, 11: 4, 13: 3, 20: 2, 21: 1, 30: 6}
LABELS = Labels([pid for pid, n in SIZES.items() for _ in range(n)])


def pk(batch_size=6, num_instances=2, seed=0, dataset=LABELS,
       sampler_cls=InfiniteSampler, **kwargs):
    sampler = sampler_cls(dataset, shuffle=True, seed=seed)
    return PKBatchSampler(sampler, batch_size, num_instances, **kwargs)


def take(batch_sampler, n):
    return list(itertools.islice(iter(batch_sampler), n))


@pytest.mark.parametrize('batch_size,k', [(6, 2), (8, 4), (12, 3), (6, 1)])
def test_p_distinct_identities_times_k(batch_size, k):
    labels = LABELS.labels
    for batch in take(pk(batch_size, k), 50):
        assert len(batch) == batch_size
        groups = [labels[batch[i:i + k]] for i in range(0, batch_size, k)]
        # grouped: K consecutive indices per identity, P distinct ones
        assert all(len(set(g)) == 1 for g in groups)
        assert len({g[0] for g in groups}) == batch_size // k
        for g_start in range(0, batch_size, k):
            members = batch[g_start:g_start + k]
            pid = labels[members[0]]
            if SIZES[pid] >= k:  # without replacement
                assert len(set(members)) == k
            else:  # all of its images, then repeats
                assert set(members) == set(np.flatnonzero(labels == pid))


def test_every_identity_once_per_round():
    # 6 identities, P = 3: each pair of batches is one shuffled round
    labels = LABELS.labels
    batches = take(pk(6, 2), 20)
    for a, b in zip(batches[::2], batches[1::2]):
        assert sorted(set(labels[a]) | set(labels[b])) == sorted(SIZES)
    # P = 4 does not divide 6: rounds straddle batches, ids stay balanced
    counts = Counter(
        int(x) for b in take(pk(8, 2), 30) for x in set(LABELS.labels[b]))
    assert set(counts) == set(SIZES)
    assert max(counts.values()) - min(counts.values()) <= 2


def test_deterministic_per_seed_rank_and_epoch(monkeypatch):
    assert take(pk(seed=3), 10) == take(pk(seed=3), 10)
    assert take(pk(seed=3), 10) != take(pk(seed=4), 10)
    ref = take(pk(seed=3), 10)
    monkeypatch.setattr(pk_batch_sampler, 'get_dist_info', lambda: (1, 2))
    assert take(pk(seed=3), 10) != ref  # rank 1 draws its own batches
    assert take(pk(seed=3), 10) == take(pk(seed=3), 10)


def test_seed_argument_overrides_the_samplers():
    a = PKBatchSampler(InfiniteSampler(LABELS, seed=1), 6, 2, seed=7)
    b = PKBatchSampler(InfiniteSampler(LABELS, seed=2), 6, 2, seed=7)
    assert a.seed == 7 and take(a, 8) == take(b, 8)


def test_epochs_of_a_finite_sampler():
    sampler = pk(6, 2, sampler_cls=DefaultSampler)
    assert not sampler.infinite
    assert len(sampler) == len(LABELS) // 6 == 3
    first = list(sampler)
    assert len(first) == 3
    second = list(sampler)  # same epoch, no set_epoch: the stream goes on
    assert second != first
    sampler.sampler.set_epoch(1)
    epoch1 = list(sampler)
    again = pk(6, 2, sampler_cls=DefaultSampler)
    again.sampler.set_epoch(1)
    assert list(again) == epoch1  # an epoch is fixed by (seed, epoch)
    assert list(pk(6, 2, sampler_cls=DefaultSampler)) == first


def test_infinite_with_an_infinite_sampler():
    sampler = pk(6, 2)
    assert sampler.infinite and len(sampler) == 3
    assert len(take(sampler, 50)) == 50
    # at least one batch even for a data set smaller than a batch
    assert len(pk(12, 2, sampler_cls=DefaultSampler)) == 1
    assert len(list(pk(6, 2, infinite=False))) == 3


def test_bad_settings_name_the_fix():
    with pytest.raises(ValueError, match=r'batch_size 7 .* num_instances 2'
                       r'.*e\.g\. 6'):
        pk(7, 2)
    with pytest.raises(ValueError, match='num_instances must be a positive'):
        pk(6, 0)
    with pytest.raises(ValueError, match=r'batch_size 16 // num_instances 2 '
                       r'= 8 .* only 6\. Lower batch_size to at most 12'):
        pk(16, 2)
    with pytest.raises(ValueError, match='has no dataset'):
        PKBatchSampler(range(10), 4, 2)
    with pytest.raises(ValueError, match='one integer identity'):
        pk(dataset=Labels([0.5] * 8))


def test_identities_from_data_infos_and_missing_labels(tmp_path):
    class Infos:
        def __len__(self):
            return len(LABELS)

        def get_data_info(self, i):
            return dict(gt_label=int(LABELS.labels[i]))

    assert take(pk(dataset=Infos()), 5) == take(pk(), 5)
    market = make_market1501(str(tmp_path))
    query = Market1501Dataset(data_root=market['root'], split='query')
    with pytest.raises(ValueError, match='training split that has labels'):
        pk(dataset=query)


def test_registered_for_mmengine_configs():
    init_default_scope('mmpretrain')
    sampler = InfiniteSampler(LABELS, seed=0)
    for registry in (DATA_SAMPLERS, MMENGINE_DATA_SAMPLERS):
        built = registry.build(
            dict(type='rkd_mm.PKBatchSampler', num_instances=3),
            default_args=dict(sampler=sampler, batch_size=9))
        assert isinstance(built, PKBatchSampler)
        assert (built.num_identities, built.num_instances) == (3, 3)


def test_runner_builds_a_pk_train_loader(tmp_path):
    init_default_scope('mmpretrain')
    market = make_market1501(str(tmp_path), num_train_ids=5)
    loader = Runner.build_dataloader(
        dict(
            batch_size=8,
            num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_sampler=dict(type='rkd_mm.PKBatchSampler',
                               num_instances=4),
            dataset=dict(
                type='rkd_mm.Market1501Dataset',
                data_root=market['root'],
                split='train',
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='PackInputs',
                         algorithm_keys=('pid', 'camid', 'is_query'))
                ])),
        seed=0)
    assert isinstance(loader.batch_sampler, PKBatchSampler)
    assert len(loader) == market['num_train'] // 8
    pids = market['train_pids']
    for batch in itertools.islice(iter(loader), 3):
        assert len(batch['inputs']) == 8
        assert batch['inputs'][0].shape == (3, 32, 16)
        samples = batch['data_samples']
        counts = Counter(s.pid for s in samples)
        assert len(counts) == 2 and set(counts.values()) == {4}
        for s in samples:
            assert int(s.gt_label) == pids.index(s.pid)
            assert f'_c{s.camid}s' in s.img_path
            assert 'is_query' not in s  # train images are neither
    # num_batch_per_epoch shortens the epoch, not the identities
    short = Runner.build_dataloader(
        dict(
            batch_size=8,
            num_batch_per_epoch=2,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='rkd_mm.PKBatchSampler',
                               num_instances=4),
            dataset=loader.dataset),
        seed=0)
    assert len(short) == len(list(short.batch_sampler)) == 2
    assert len(short.batch_sampler._members) == len(pids)
    # the same seed gives the same batches
    again = Runner.build_dataloader(
        dict(
            batch_size=8,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_sampler=dict(type='rkd_mm.PKBatchSampler',
                               num_instances=4),
            dataset=loader.dataset),
        seed=0)
    assert take(again.batch_sampler, 5) == take(
        PKBatchSampler(InfiniteSampler(loader.dataset, seed=0), 8, 4), 5)
