"""P identities x K images per batch, for metric learning (re-ID)."""
from typing import Iterator, List, Optional

import numpy as np
from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import BatchSampler, Sampler

from rkd_mm.registry import DATA_SAMPLERS

__all__ = ['PKBatchSampler', 'identity_labels']


def identity_labels(dataset) -> np.ndarray:
    """The identity (``gt_label``) of every sample of ``dataset``.

    Args:
        dataset: An mmpretrain data set (``get_gt_labels``) or any MMEngine
            data set whose ``get_data_info(i)`` holds ``gt_label``.

    Returns:
        np.ndarray: One integer label per sample, 1-D. Those of the whole
        underlying data set where MMEngine's ``num_batch_per_epoch`` wraps
        it to shorten the epoch (its indexing passes through).

    Raises:
        ValueError: If the samples have no single integer ``gt_label``.
    """
    try:
        if hasattr(dataset, 'get_gt_labels'):
            labels = dataset.get_gt_labels()
        else:
            labels = [
                dataset.get_data_info(i)['gt_label']
                for i in range(len(dataset))
            ]
    except (KeyError, AttributeError) as err:
        raise ValueError(
            f'PKBatchSampler needs the identity (gt_label) of every sample '
            f'of {type(dataset).__name__}: use it on a training split that '
            f'has labels (e.g. Market1501Dataset split="train").') from err
    labels = np.asarray(labels)
    if labels.ndim != 1 or not len(labels) or \
            not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f'PKBatchSampler needs one integer identity per sample, got '
            f'gt_labels of shape {labels.shape} and dtype {labels.dtype}.')
    return labels


@DATA_SAMPLERS.register_module()
class PKBatchSampler(BatchSampler):
    """Batches of P distinct identities x K images each.

    The sampler of batch-hard triplet training (Hermans et al. 2017, "In
    Defense of the Triplet Loss"): each batch holds ``P = batch_size //
    num_instances`` distinct identities, ``K = num_instances`` images of
    each, grouped (indices ``[a]*K + [b]*K + ...``). The identities are
    ``sampler.dataset.get_gt_labels()``. They are drawn in shuffled rounds
    (every identity once per round, so all are seen equally often); the K
    images of an identity are drawn without replacement when it has at
    least K, otherwise all of them plus random repeats.

    Use it as MMEngine's ``batch_sampler``, which passes ``sampler`` and
    ``batch_size`` from the data loader config::

        train_dataloader = dict(
            batch_size=64,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_sampler=dict(type='rkd_mm.PKBatchSampler',
                               num_instances=16),
            ...)

    The wrapped ``sampler`` gives the data set, the seed and the length;
    its index order is not used (a P x K batch cannot follow it).

    **Randomness.** The draws are seeded from ``(seed, rank, epoch)``:
    ``seed`` is the wrapped sampler's (MMEngine's ``randomness.seed``), the
    rank makes each process of a distributed run draw its own batches, and
    ``epoch`` is the sampler's (set by MMEngine's ``set_epoch``; 0 for an
    ``InfiniteSampler``). The same seed gives the same batches.

    **Length.** ``len()`` is ``len(sampler) // batch_size`` (at least 1):
    about as many images per epoch as the data set has. With an
    ``InfiniteSampler`` the batches never end (iteration-based training),
    as that sampler's indices do not; with a finite sampler (e.g.
    ``DefaultSampler``, epoch-based training) one pass yields ``len()``
    batches.

    Args:
        sampler: The data loader's sampler (MMEngine builds it from the
            ``sampler`` config); its ``dataset`` holds the labels.
        batch_size: Images per batch, a multiple of ``num_instances``.
        num_instances: K, images per identity in a batch.
        seed: Overrides the sampler's seed (None: ``sampler.seed``, or a
            seed shared by all ranks if the sampler has none).
        infinite: Whether one pass never ends (None: when ``sampler`` is
            an ``InfiniteSampler``).
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 num_instances: int = 4,
                 seed: Optional[int] = None,
                 infinite: Optional[bool] = None) -> None:
        # BatchSampler.__init__ is not called: it only stores the fields
        # set here, and its checks do not apply (drop_last is implied).
        if not isinstance(num_instances, int) or num_instances < 1:
            raise ValueError(f'PKBatchSampler num_instances must be a '
                             f'positive int, got {num_instances!r}.')
        if not isinstance(batch_size, int) or batch_size < num_instances \
                or batch_size % num_instances:
            lower = max(num_instances,
                        (batch_size if isinstance(batch_size, int) else 0) //
                        num_instances * num_instances)
            raise ValueError(
                f'PKBatchSampler: batch_size {batch_size!r} is not a '
                f'positive multiple of num_instances {num_instances}: each '
                'batch holds P identities x K = num_instances images. Set '
                f'batch_size to a multiple (e.g. {lower}) or num_instances '
                'to a divisor of it.')
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None:
            raise ValueError(
                f'PKBatchSampler reads the identities from sampler.dataset, '
                f'but the {type(sampler).__name__} given has no dataset '
                '(use an MMEngine sampler such as InfiniteSampler).')
        self.sampler = sampler
        self.batch_size = batch_size
        self.num_instances = num_instances
        self.num_identities = batch_size // num_instances
        self.drop_last = True
        self.infinite = isinstance(sampler, InfiniteSampler) \
            if infinite is None else bool(infinite)

        labels = identity_labels(dataset)
        ids, inverse = np.unique(labels, return_inverse=True)
        # member[i]: the sample indices of the i-th identity
        order = np.argsort(inverse, kind='stable')
        bounds = np.cumsum(np.bincount(inverse, minlength=len(ids)))[:-1]
        self._members: List[np.ndarray] = np.split(order, bounds)
        if len(ids) < self.num_identities:
            raise ValueError(
                f'PKBatchSampler: batch_size {batch_size} // num_instances '
                f'{num_instances} = {self.num_identities} distinct '
                f'identities per batch, but {type(dataset).__name__} has '
                f'only {len(ids)}. Lower batch_size to at most '
                f'{len(ids) * num_instances} or raise num_instances.')

        if seed is None:
            seed = getattr(sampler, 'seed', None)
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, _ = get_dist_info()
        self._rng: Optional[np.random.Generator] = None
        self._rng_epoch: Optional[int] = None
        self._queue: List[int] = []

    def _start(self) -> None:
        """Seed the draws for the sampler's epoch, unless already done: a
        second pass in the same epoch continues the stream."""
        epoch = int(getattr(self.sampler, 'epoch', 0))
        if self._rng is not None and self._rng_epoch == epoch:
            return
        entropy = [self.seed % 2**63, self.rank, epoch]
        self._rng = np.random.default_rng(np.random.SeedSequence(entropy))
        self._rng_epoch = epoch
        self._queue = []

    def _draw_identities(self) -> List[int]:
        """P distinct identities from shuffled rounds over all of them."""
        chosen: List[int] = []
        held_back: List[int] = []
        while len(chosen) < self.num_identities:
            if not self._queue:
                self._queue = self._rng.permutation(
                    len(self._members)).tolist()
            identity = self._queue.pop()
            # only where a batch spans two rounds can one repeat: it waits
            # for the next batch
            if identity in chosen:
                held_back.append(identity)
            else:
                chosen.append(identity)
        self._queue.extend(held_back)
        return chosen

    def _draw_images(self, identity: int) -> List[int]:
        members = self._members[identity]
        k = self.num_instances
        if len(members) >= k:
            picked = self._rng.choice(members, k, replace=False)
        else:
            extra = self._rng.choice(members, k - len(members), replace=True)
            picked = np.concatenate([members, extra])
        return [int(i) for i in picked]

    def __iter__(self) -> Iterator[List[int]]:
        self._start()
        produced = 0
        while self.infinite or produced < len(self):
            batch: List[int] = []
            for identity in self._draw_identities():
                batch.extend(self._draw_images(identity))
            produced += 1
            yield batch

    def __len__(self) -> int:
        return max(1, len(self.sampler) // self.batch_size)
