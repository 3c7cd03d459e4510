"""Private random streams: a block draws without moving the global one."""
import torch
from mmengine.logging import MessageHub

from rkd_mm.utils.rng import derived_seed, iteration_generator, private_rng


def test_private_rng_leaves_the_global_stream_where_it_was():
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    with private_rng('part') as seed:
        inside = torch.rand(4)
    assert torch.equal(torch.rand(4), expected)
    assert not torch.equal(inside, expected)
    # reproducible from the global state, and another name another stream
    torch.manual_seed(0)
    assert derived_seed('part') == seed != derived_seed('other')
    with private_rng('part'):
        assert torch.equal(torch.rand(4), inside)
    torch.manual_seed(1)
    assert derived_seed('part') != seed


def test_iteration_generator_follows_seed_name_and_iteration():
    hub = MessageHub.get_current_instance()
    old = hub.get_info('iter')
    try:
        torch.manual_seed(0)
        hub.update_info('iter', 5)
        a = torch.rand(3, generator=iteration_generator('mmd'))
        state = torch.get_rng_state()
        assert torch.equal(torch.rand(3, generator=iteration_generator(
            'mmd')), a)
        assert torch.equal(torch.get_rng_state(), state)  # global untouched
        assert not torch.equal(
            torch.rand(3, generator=iteration_generator('other')), a)
        hub.update_info('iter', 6)
        assert not torch.equal(
            torch.rand(3, generator=iteration_generator('mmd')), a)
        torch.manual_seed(1)  # another run seed
        hub.update_info('iter', 5)
        assert not torch.equal(
            torch.rand(3, generator=iteration_generator('mmd')), a)
    finally:
        hub.update_info('iter', 0 if old is None else old)
