"""Adaptive parallelism and pacing: a lone segment gets every core, segments side by side their
share; each next segment grows only as fast as the engine renders here now."""
import os
import threading

import numpy as np
import pytest

from synthesis import pipeline
from synthesis.engines.base import AdaptiveSession, EngineOptions, Rendering


class Recorder:
    def __init__(self, name, log):
        self.name, self.log = name, log

    def run(self, *args, **kwargs):
        self.log.append(self.name)
        return [np.zeros(1, dtype=np.float32)]

    def get_inputs(self):
        return [self.name]


def test_a_lone_segment_uses_the_whole_session_and_concurrent_ones_the_shared():
    log = []
    session = AdaptiveSession(Recorder("shared", log), Recorder("whole", log))
    with Rendering.segment():
        session.run(None, {})
        both_in, release = threading.Event(), threading.Event()

        def second():
            with Rendering.segment():
                both_in.set()
                release.wait(10)

        other = threading.Thread(target=second)
        other.start()
        assert both_in.wait(10)
        session.run(None, {})
        release.set()
        other.join(10)
    assert log == ["whole", "shared"]
    assert session.get_inputs() == ["shared"]  # the model's description comes from either


@pytest.mark.real_engine
@pytest.mark.parametrize("adaptive", [True, False])
def test_an_engine_on_the_default_settings_gets_an_adaptive_session_and_a_fixed_count_does_not(adaptive):
    from synthesis.engines.piper import PiperEngine

    engine = PiperEngine(EngineOptions(intra_op_threads=1, adaptive_threads=adaptive))
    engine.load()
    session = engine._voice("joe").session
    assert isinstance(session, AdaptiveSession) == (adaptive and (os.cpu_count() or 1) > 1)
    if isinstance(session, AdaptiveSession):  # the whole-core session spins only while it runs
        options = session._whole.get_session_options()
        assert options.get_session_config_entry("session.force_spinning_stop") == "1"
        assert options.intra_op_num_threads == os.cpu_count()
    with Rendering.segment():
        alone = engine.synthesize("Every core helps a lone request.", "joe")
    assert len(alone) / engine.sample_rate > 1.0


@pytest.fixture
def clean_speeds():
    pipeline._render_speed.clear()
    yield
    pipeline._render_speed.clear()


def test_segments_grow_fast_for_a_fast_engine_and_slowly_for_a_slow_one(clean_speeds):
    assert pipeline.growth_for("fresh") == pipeline.DEFAULT_GROWTH  # nothing measured yet
    pipeline.observe_render("fast", 0.05, 1.0)
    pipeline.observe_render("slow", 0.9, 1.0)
    assert pipeline.growth_for("fast") == pipeline.MAX_GROWTH
    assert pipeline.growth_for("slow") == pipeline.MIN_GROWTH
    for _ in range(12):  # the load went away: the measure follows
        pipeline.observe_render("slow", 0.1, 1.0)
    assert pipeline.growth_for("slow") == pipeline.MAX_GROWTH


def test_rendering_measures_the_engines_speed(fake_voices, clean_speeds):
    from synthesis import services
    from synthesis.types import SynthesisRequest, Turn, VoiceRef

    request = SynthesisRequest([Turn(VoiceRef("fake_a", "fake", "fake_a", "en"), "One two three. Four five six.")])
    job = services.start_synthesis(request)
    assert sum(len(chunk.samples) for chunk in job) > 0
    assert "fake" in pipeline._render_speed and pipeline._render_speed["fake"] >= 0


def test_when_busy_no_segment_holds_a_core_long(fake_voices, clean_speeds):
    from synthesis.text.segment import units
    from synthesis.types import SynthesisRequest, Turn, VoiceRef

    text = "When the quiet evening settled over the harbor, the fishermen pulled their boats onto the sand " \
           "and began to mend their nets by lantern light while the children ran between the hulls. " * 3
    request = SynthesisRequest([Turn(VoiceRef("fake_a", "fake", "fake_a", "en"), text)])
    pipeline.observe_render("fake", 0.01, 1.0)  # fast: segments would grow to the whole window
    alone, busy = pipeline.plan(request), pipeline.plan(request, busy=True)
    assert max(units(s.text) for s in alone) > pipeline.BUSY_WINDOW
    assert max(units(s.text) for s in busy) <= pipeline.BUSY_WINDOW
    assert units(busy[0].text) <= pipeline.BUSY_FIRST_SEGMENT * 2
    assert " ".join(s.text for s in busy).split() == " ".join(s.text for s in alone).split()



def test_a_segment_is_not_alone_while_another_job_waits_for_its_next_segment(fake_voices):
    """Jobs between two segments (here parked for their readers) would start their next segment
    beside this one: it does not take every core. Once they end, it does."""
    from synthesis import services
    from synthesis.dispatch import LocalDispatcher
    from synthesis.types import SynthesisRequest, Turn, VoiceRef

    def request():
        return SynthesisRequest([Turn(VoiceRef("fake_a", "fake", "fake_a"), "One here. Two here. Three here.")],
                                window_size=4, length_threshold=4)

    log = []
    session = AdaptiveSession(Recorder("shared", log), Recorder("whole", log))
    dispatcher = LocalDispatcher(engine_loader=services.load_engine, workers=2, max_ahead=1)
    try:
        jobs = [dispatcher.submit(request()), dispatcher.submit(request())]
        tick = threading.Event()
        for _ in range(1000):  # each worker renders a first segment, then parks its job
            if all(job.buffered for job in jobs) and not dispatcher.stats()["queued_segments"] \
                    and Rendering._count == 0:
                break
            tick.wait(0.01)
        assert all(job.buffered and job.total_segments > 1 and not job.done for job in jobs)
        with Rendering.segment():
            session.run(None, {})
        for job in jobs:
            assert len(list(job)) == job.total_segments
        with Rendering.segment():
            session.run(None, {})
    finally:
        dispatcher.shutdown()
    assert log == ["shared", "whole"]
