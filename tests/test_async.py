import asyncio

from memkit import AsyncMemory, Memory

from .conftest import FAST


def test_async_memory_shares_the_sync_core(tmp_path):
    async def main():
        async with AsyncMemory(tmp_path / "m", FAST) as mem:
            assert isinstance(mem.sync, Memory)
            notes = await asyncio.gather(*(mem.add(f"async note {i} about gardening", user_id="u") for i in range(8)))
            assert len({n.id for n in notes}) == 8
            hits = await mem.search("gardening", k=3, user_id="u")
            assert len(hits) == 3
            got = await mem.get(notes[0].id)
            assert got.content == "async note 0 about gardening"
            assert (await mem.stats()).notes == 8
            return notes[0].id

    nid = asyncio.run(main())
    with Memory(tmp_path / "m") as mem:  # the stored config is reused
        assert mem.get(nid).content == "async note 0 about gardening"


def test_async_methods_mirror_sync_ones():
    from memkit.memory import _ASYNC_METHODS

    public = {m for m in dir(Memory) if not m.startswith("_") and callable(getattr(Memory, m))}
    public -= {"reconcile", "iter_notes"}  # a generator and an internal repair step
    assert public == set(_ASYNC_METHODS)
    for name in _ASYNC_METHODS:
        assert asyncio.iscoroutinefunction(getattr(AsyncMemory, name))


def test_async_methods_carry_the_sync_signatures():
    """What a type checker reads (the wrappers are typed with Memory's ParamSpec) and ``help()`` shows."""
    import inspect

    from memkit.memory import _ASYNC_METHODS

    for name in _ASYNC_METHODS:
        assert inspect.signature(getattr(AsyncMemory, name)) == inspect.signature(getattr(Memory, name)), name
        assert getattr(AsyncMemory, name).__doc__ == getattr(Memory, name).__doc__
