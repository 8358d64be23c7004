import asyncio
import threading

import pytest

from synthesis import services
from synthesis.dispatch import LocalDispatcher, SynthesisFailed
from synthesis.streaming import encoded_stream
from synthesis.types import SynthesisRequest, Turn, VoiceRef
from tests.fakes import FakeEngine

VOICE = VoiceRef("fake_a", "fake", "fake_a")
TEXT = "First part here. Second sentence is here. Third sentence is here. Fourth one ends it."


def request(text=TEXT, **kw):
    return SynthesisRequest([Turn(VOICE, text)], window_size=4, length_threshold=4, **kw)


def wait_for(predicate, timeout=10.0):
    """Wait (on a condition, checked as time passes) until predicate() holds; False at timeout."""
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        done.wait(0.01)
    return predicate()


_made: list[LocalDispatcher] = []


@pytest.fixture(autouse=True)
def _shut_down_dispatchers():
    """Each test's dispatchers stop after it: no job of theirs is still counted by the next test."""
    yield
    while _made:
        _made.pop().shutdown()


def dispatcher(**kw):
    _made.append(LocalDispatcher(engine_loader=services.load_engine, **kw))
    return _made[-1]


def test_it_yields_every_segment_in_order_with_the_last_marked():
    chunks = list(dispatcher().submit(request()))
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].last and not any(c.last for c in chunks[:-1])
    assert all(c.sample_rate == 16000 for c in chunks)


def test_the_first_chunk_arrives_before_the_last_segment_is_synthesized():
    FakeEngine.gate = threading.Event()
    job = dispatcher().submit(request())
    first = next(iter(job))
    assert first.index == 0
    assert len(FakeEngine.calls) == 1  # the later segments are still waiting
    FakeEngine.gate.set()
    assert len(list(job)) == job.total_segments - 1


def test_cancel_stops_the_work_within_one_segment():
    FakeEngine.gate = threading.Event()
    d = dispatcher()
    job = d.submit(request())
    next(iter(job))
    job.cancel()
    FakeEngine.gate.set()
    wait_until(lambda: d.stats()["active_jobs"] == 0)
    assert len(FakeEngine.calls) == 2  # the segment in flight finished; nothing after it started
    assert list(job) == []


def wait_until(condition, seconds=5.0):
    deadline = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        deadline.wait(0.01)
    raise AssertionError("condition not reached")


def test_a_new_requests_first_segment_goes_before_other_requests_tails():
    FakeEngine.gate = threading.Event()
    d = dispatcher(max_ahead=100)
    long_job = d.submit(request())
    next(iter(long_job))  # long job is now blocked in its second segment
    short_job = d.submit(request("Short one."))
    FakeEngine.gate.set()
    list(short_job)
    list(long_job)
    # the short request's only segment ran right after the segment in flight
    assert FakeEngine.calls.index("Short one.") <= 2


def test_backpressure_parks_a_job_whose_reader_is_slow():
    d = dispatcher(max_ahead=1)
    job = d.submit(request())
    work = d._active[job.id]
    assert wait_for(lambda: work.parked), "the job was never parked with an unread chunk"
    # parked: nothing of it is queued, and only the unread segment was synthesized
    with d._cond:
        assert not d._heap and work.parked
    assert len(FakeEngine.calls) == 1
    assert len(list(job)) == job.total_segments


def test_an_engine_failure_ends_the_job_with_an_error_after_good_chunks():
    FakeEngine.fail_on = "Third"
    job = dispatcher().submit(request())
    got = []
    with pytest.raises(SynthesisFailed):
        for chunk in job:
            got.append(chunk)
    assert len(got) >= 1


def test_async_readers_get_the_same_chunks():
    job = dispatcher().submit(request())

    async def read():
        return [c.index async for c in job]

    assert asyncio.run(read()) == list(range(job.total_segments))


def test_a_reader_that_goes_away_cancels_the_job():
    FakeEngine.gate = threading.Event()
    job = dispatcher().submit(request())

    async def read_one_then_leave():
        stream = encoded_stream(job, "wav")
        first = await stream.__anext__()
        await stream.aclose()
        return first

    assert asyncio.run(read_one_then_leave())[:4] == b"RIFF"
    assert job.cancelled
    FakeEngine.gate.set()


@pytest.mark.django_db
def test_a_client_that_leaves_while_its_job_is_submitted_leaves_no_job(monkeypatch, fake_voices):
    """The submission runs in a thread, which the request's cancellation does not stop: the job it
    made is cancelled once it exists (it ran to its end, or until the reader timeout, before)."""
    import asyncio

    from synthesis import services

    entered, release, made = threading.Event(), threading.Event(), []
    submit = services.submit

    def held_submit(request):
        entered.set()
        release.wait(30)
        made.append(submit(request))
        return made[-1]
    monkeypatch.setattr(services, "submit", held_submit)

    async def leave_during_submission():
        request = services.asubmit(SynthesisRequest([Turn(VOICE, "one two three. four five six.")]))
        task = asyncio.ensure_future(request)
        await asyncio.to_thread(entered.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        for _ in range(600):  # until the submission ended and its job was settled
            if made and made[0].cancelled:
                return made[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"the job was never cancelled: {made}")

    job = asyncio.run(leave_during_submission())
    assert job.done and not job.buffered
