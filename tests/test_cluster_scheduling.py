"""Scheduling across processes with a real redis-server, Celery worker and daphne processes:
first segments jump the queue, a job whose reader lags is parked, and a session started on one
web process is interrupted from another."""
import pytest
import requests
from celery import Celery
from django.conf import settings

from synthesis.dispatch import redis_streams
from synthesis.engines import registry
from synthesis.types import SynthesisRequest, Turn, VoiceRef
from tests.audio import decode
from tests.liveserver import InterruptedStream, LiveServer, wait_until
from ttsproject.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]
JOE = VoiceRef("joe", "piper", "joe", "en-us")
SENTENCES = ("The harbor was quiet in the evening. Children ran between the boats. A radio played an old "
             "song. The shops were closing one by one. Somebody laughed near the water.")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def worker_env(redis_server, workdir):
    return {"REDIS_URL": redis_server.url, "TTS_ENGINES": "piper", "TTS_DATA_DIR": str(workdir),
            "TTS_ORT_THREADS": "1"}


def publisher(url):
    """Sends segment tasks the way `synthesis.tasks.send_segment` does, through the product's broker options."""
    app = Celery(broker=url)
    app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS

    def send(job_id, index, queue, priority):
        app.send_task("synthesis.tasks.render_segment", (job_id, index), queue=queue, priority=priority)
    return send


def first_chunk_id(client, job_id):
    entries = client.xrange(redis_streams.key(job_id, "chunks"), count=1)
    return tuple(int(part) for part in entries[0][0].decode().split("-")) if entries else None


def test_a_first_segment_is_served_before_queued_later_segments_and_a_lagging_reader_parks_its_job(
        redis_server, tmp_path):
    dispatcher = redis_streams.CeleryDispatcher(redis_server.url, publisher(redis_server.url),
                                                registry.engine_class, max_ahead=2)
    # Queued while no worker runs: three long-form jobs (their first segments wait behind others'),
    # then one listener's request.
    background = [dispatcher.submit(SynthesisRequest([Turn(JOE, SENTENCES)], window_size=10, background=True)) for _ in range(3)]
    listener = dispatcher.submit(SynthesisRequest([Turn(JOE, "Hello there.")]))
    assert all(job.total_segments > 2 for job in background)
    worker = CeleryWorker(tmp_path, worker_env(redis_server, tmp_path), name="sched").wait_ready()
    client = dispatcher.redis
    try:
        # Stream ids are the times the worker wrote them; a stream is deleted once it is read.
        assert wait_until(lambda: first_chunk_id(client, listener.job_id))
        listener_first = first_chunk_id(client, listener.job_id)
        audio = [chunk.samples for chunk in listener]
        assert sum(len(a) for a in audio) > 0.3 * listener.sample_rate
        for job in background:  # the worker goes on with them while nobody reads: until parked
            assert wait_until(lambda: client.exists(redis_streams.key(job.job_id, "parked")))
        assert all(listener_first < first_chunk_id(client, job.job_id) for job in background)
        lagging = background[0]
        # max_ahead=2: two segments rendered ahead of a reader that read none, the third parked.
        assert int(client.get(redis_streams.key(lagging.job_id, "parked"))) == 2
        # Reading unparks it: every segment arrives.
        indexes = {chunk.index for chunk in lagging}
        assert indexes == set(range(lagging.total_segments))
    finally:
        for job in background:
            job.cancel()
        worker.stop()


@pytest.fixture(scope="module")
def two_web_processes(redis_server, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("web")
    env = worker_env(redis_server, workdir)
    worker = CeleryWorker(workdir, env, name="sessions").wait_ready()
    first = LiveServer(workdir, env=env).wait_ready()
    second = LiveServer(workdir, env=env).wait_ready()  # after the first: one migration at a time
    yield first, second
    for process in (first, second, worker):
        process.stop()


def test_a_session_streamed_by_one_web_process_is_interrupted_from_another(two_web_processes):
    first, second = two_web_processes
    stream = InterruptedStream(f"{first.url}/api/tts/stream", {"text": SENTENCES * 3, "session_id": "shared"})
    assert stream.first_audio.wait(120)
    answer = requests.post(f"{second.url}/api/tts/interrupt", json={"session_id": "shared"}, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    stream.mark_interrupted()
    assert stream.join(60)
    # The whole text is ~40 s of speech (over 300 kB of 64 kbit/s mp3); after the interrupt at most
    # the segments already rendered ahead arrive.
    assert stream.bytes_after < 120_000
    assert len(decode(stream.audio, "mp3")[0]) > 0
    # The session is free again on either process.
    again = requests.post(f"{second.url}/api/tts/stream", json={"text": "Starting over.", "session_id": "shared"},
                          timeout=60)
    assert again.status_code == 200 and len(decode(again.content, "mp3")[0]) > 0
