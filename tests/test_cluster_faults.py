"""Scale-out against real processes: a redis-server, two Celery workers and a relaying daphne."""
import concurrent.futures
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
import requests

from tests.audio import decode
from tests.liveserver import ROOT, LiveServer, wait_until
from ttsproject.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]
LONG = "This sentence keeps the synthesis workers busy for a little while. " * 14  # under 1000 characters


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cluster")
    redis_server = RedisServer(workdir).start()
    env = {"REDIS_URL": redis_server.url, "TTS_ENGINES": "piper", "TTS_DATA_DIR": str(workdir),
           "TTS_ORT_THREADS": "1", "TTS_TASK_STALE_SECONDS": "5"}
    server = LiveServer(workdir, env=env)  # ready once a worker has announced itself
    workers = [CeleryWorker(workdir, env, name=f"w{i}").wait_ready() for i in (1, 2)]
    server.wait_ready()

    class Cluster:
        pass

    c = Cluster()
    c.url, c.redis, c.workers, c.env, c.workdir, c.server = server.url, redis_server, workers, env, workdir, server
    yield c
    for worker in c.workers:
        worker.stop()
    server.stop()
    c.redis.stop()


def stream(url, text, fmt="wav", timeout=120, **extra):
    with requests.post(f"{url}/speak", json={"name": "joe", "text": text, "stream": True,
                                             "response_format": fmt, **extra}, stream=True, timeout=timeout) as r:
        r.raise_for_status()
        return b"".join(r.iter_content(chunk_size=None))


def test_fifty_concurrent_streams_complete_and_decode(cluster):
    texts = [f"Stream number {i} says hello. It has two sentences." for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        bodies = list(pool.map(lambda t: stream(cluster.url, t), texts))
    for body in bodies:
        samples, rate = decode(body, "wav")
        assert rate == 16000 and len(samples) / rate > 1.5  # Flash-TTS streams WAV at 16 kHz


def job_keys(client):
    return [k.decode() for k in client.scan_iter("tts:job:*:plan")]


def test_a_client_that_disconnects_stops_the_workers_within_one_segment(cluster):
    client = redis.Redis.from_url(cluster.redis.url)
    with requests.post(f"{cluster.url}/speak", json={"name": "joe", "text": LONG, "stream": True,
                                                     "response_format": "wav"}, stream=True, timeout=60) as r:
        r.raise_for_status()
        next(r.iter_content(chunk_size=4096))
        job_id = job_keys(client)[0].split(":")[2]
    # the relay marks the job cancelled once it sees the disconnect
    assert wait_until(lambda: client.exists(f"tts:job:{job_id}:cancel"), 30), "the job was never cancelled"
    produced = client.xlen(f"tts:job:{job_id}:chunks")
    # A worker refreshes the job's heartbeat with every piece it writes: once the heartbeat has
    # lapsed, no worker is rendering the job any more, and the count of chunks is final.
    assert wait_until(lambda: not client.exists(f"tts:job:{job_id}:hb"), 60), "workers kept rendering"
    assert client.xlen(f"tts:job:{job_id}:chunks") <= produced + 1  # at most the segment in flight
    assert produced < 14


def test_celery_streams_give_the_same_audio_as_in_process(cluster, settings):
    """Seeded Piper is noise-free, so a worker and this process render the same samples."""
    import numpy as np

    from synthesis.dispatch import LocalDispatcher
    from synthesis.engines.base import SamplingParams
    from synthesis.services import load_engine
    from synthesis.types import SynthesisRequest, Turn, VoiceRef

    text = "Same audio from a worker. And a second sentence."
    served, rate = decode(stream(cluster.url, text, seed=1), "wav")
    settings.TTS_ENGINES = ["piper"]
    settings.TTS_ORT_THREADS = 1  # as the workers run
    request = SynthesisRequest([Turn(VoiceRef("joe", "piper", "joe", "en-us"), text)], sample_rate=16000,
                               sampling=SamplingParams(seed=1), dialect="flashtts")
    dispatcher = LocalDispatcher(workers=1, engine_loader=load_engine)
    try:
        local = np.concatenate([chunk.samples for chunk in dispatcher.submit(request)])
    finally:
        dispatcher.shutdown()
    assert rate == 16000 and len(served) == len(local)
    assert np.max(np.abs(served - local)) < 2e-4  # 16-bit rounding


def test_redis_restart_is_survived_without_restarting_web_or_workers(cluster):
    port = cluster.redis.port
    cluster.redis.stop()
    time.sleep(1.0)
    cluster.redis = RedisServer(cluster.workdir, port=port).start()
    deadline, last_error = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        try:
            body = stream(cluster.url, "Back after a Redis restart.", timeout=30)
            assert len(decode(body, "wav")[0]) > 0
            return
        except (requests.RequestException, AssertionError) as e:
            last_error = e
            time.sleep(1.0)
    raise AssertionError(f"the service did not recover: {last_error}")


def failures_after_audio(url):
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(requests.get(f"{url}/metrics").text)
    return sum(s.value for f in families for s in f.samples
               if s.name == "tts_synthesis_failures_total" and s.labels.get("stage") == "after_audio")


def wait_task(url, step_id, wanted, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = requests.get(f"{url}/get_task_status/{step_id}").json()
        if body["status"] in wanted:
            return body
        time.sleep(0.5)
    raise AssertionError(f"task {step_id} never reached {wanted}: {body}")


def test_killed_workers_end_the_stream_cleanly_counted_and_the_task_resumes_on_a_new_worker(cluster):
    text = LONG + " " + LONG + " " + LONG  # a chapter: several stored segments
    task = requests.post(f"{cluster.url}/generate_audio_enhanced_async",
                         json={"step_id": "killed", "text": text, "reference_id": "joe", "chunk_length": 100})
    assert task.status_code == 200
    wait_task(cluster.url, "killed", {"processing"})
    before = failures_after_audio(cluster.url)
    received = b""
    with requests.post(f"{cluster.url}/speak", json={"name": "joe", "text": LONG, "stream": True,
                                                     "response_format": "mp3"}, stream=True, timeout=90) as r:
        r.raise_for_status()
        for i, chunk in enumerate(r.iter_content(chunk_size=None)):
            received += chunk
            if i == 1:
                for worker in cluster.workers:
                    os.kill(worker.process.pid, signal.SIGKILL)
    # the relay saw the workers gone: the stream ended cleanly, what arrived decodes, the failure counted
    assert len(decode(received, "mp3")[0]) > 0
    assert failures_after_audio(cluster.url) == before + 1
    time.sleep(6)  # its runner died with the workers: past TTS_TASK_STALE_SECONDS (5) without a heartbeat
    subprocess.run([sys.executable, "manage.py", "sweep_tasks"], cwd=ROOT, env={**os.environ, **cluster.env},
                   check=True, capture_output=True)
    wait_task(cluster.url, "killed", {"pending"})  # resumed (by that sweep or the server's own), no worker yet
    cluster.workers = [CeleryWorker(cluster.workdir, cluster.env, name="w3").wait_ready()]
    body = wait_task(cluster.url, "killed", {"completed", "failed"})
    assert body["status"] == "completed" and body["progress"]["segments_done"] == body["progress"]["segments_total"]
