"""OpenAPI descriptions of every dialect's endpoints, with request examples from the seeds."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers

from tasks import views as task_views

from . import fish, flashtts, lighttts, openai, openspeech

AUDIO_BODY = OpenApiResponse(OpenApiTypes.BINARY, description="Audio in the requested format (chunked when "
                                                                "streaming); the rate is in X-Sample-Rate")
AUDIO_TYPES = ("audio/mpeg", "audio/wav", "audio/pcm", "audio/ogg", "audio/aac", "audio/flac")
AUDIO = {(200, media): AUDIO_BODY for media in AUDIO_TYPES}
JSON_OK = OpenApiResponse(OpenApiTypes.OBJECT, description="JSON body as the dialect's spec shows")


def error(description):
    return OpenApiResponse(OpenApiTypes.OBJECT, description=description + " The body is the dialect's error shape: "
                           "Flash-TTS, Fish and LightTTS {\"detail\": ...}, OpenAI {\"error\": {message, type, "
                           "param, code}}.")


# What any endpoint may answer, and what the synthesis and upload endpoints add.
COMMON_ERRORS = {
    401: error("The API key is missing or wrong (only when the server has one)."),
    403: error("A state-changing request from a page of another site, with no key set."),
    429: error("Over the rate limit; Retry-After says when to come back."),
}
SYNTHESIS_ERRORS = {
    400: error("Bad parameters, text over TTS_MAX_TEXT_LENGTH, or a voice that cannot speak the text's language."),
    404: error("Unknown voice."),
    422: error("A field failed validation, or the text is empty (Flash-TTS: {\"detail\": [{loc, msg, type}]})."),
    500: error("Synthesis failed before the first audio (\"synthesis failed: ...\")."),
    503: error("No worker took the job in time; Retry-After says when to retry."),
}
UPLOAD_ERRORS = {
    400: error("Reference audio that is not valid base64, not decodable, silent, or a URL that is refused."),
    413: error("The upload is over TTS_MAX_UPLOAD_BYTES."),
    422: error("The voice made from this audio cannot speak its test phrase; nothing was saved."),
}


def doc(view, method, tags, summary, request=None, examples=(), responses=None):
    audio = responses is None
    responses = dict(AUDIO) if audio else dict(responses)
    extra = {**COMMON_ERRORS, **(SYNTHESIS_ERRORS if audio else {})}
    if any(word in summary.lower() for word in ("clone", "add a", "zero-shot", "encode")):
        extra.update(UPLOAD_ERRORS)
    for status, response in extra.items():
        responses.setdefault(status, response)
    extend_schema_view(**{method: extend_schema(
        tags=[tags], summary=summary, request=request,
        responses=responses, examples=[OpenApiExample(name, value=value, request_only=True)
                                       for name, value in examples])})(view)


PROBES = {
    "/healthz": ("Liveness", {"message": "Ok"}), "/health": ("Liveness", {"message": "Ok"}),
    "/liveness": ("Liveness", {"message": "Ok"}),
    "/readiness": ("Readiness: 503 while no engine is loaded or admission would refuse", {"message": "Ok"}),
    "/v1/health": ("Fish Speech health", {"status": "ok"}), "/api/healthz": ("Health", {"status": "ok"}),
}


def add_probes(result, generator, request, public):
    """Health probes and Prometheus metrics are plain Django views; the docs list them too."""
    paths = result.setdefault("paths", {})
    for path, (summary, body) in PROBES.items():
        responses = {"200": {"description": "Serving", "content": {"application/json": {"example": body}}}}
        if path == "/readiness":
            responses["503"] = {"description": "Not ready", "content": {"application/json": {"example": body}}}
        paths[path] = {"get": {"tags": ["Health"], "summary": summary, "operationId": f"probe{path.replace('/', '_')}",
                               "security": [], "responses": responses}}
    paths["/metrics"] = {"get": {"tags": ["Health"], "summary": "Prometheus metrics", "operationId": "metrics",
                                 "responses": {"200": {"description": "Prometheus text exposition",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}},
                                               "401": {"description": "The API key is missing or wrong"}}}}
    return result


SPEAK_EXAMPLE = {"name": "joe", "text": "你好，世界！", "pitch": "moderate", "speed": "moderate", "temperature": 0.9,
                 "top_k": 50, "top_p": 0.95, "max_tokens": 2048, "stream": False, "response_format": "mp3"}
doc(flashtts.SpeakView, "post", "Flash-TTS", "Speak with a catalog voice", flashtts.SpeakSerializer,
    [("speak", SPEAK_EXAMPLE)])
doc(flashtts.MultiSpeakView, "post", "Flash-TTS", "Several speakers with <role:name> tags", flashtts.SynthesisFields,
    [("dialog", {"text": "<role:jf_alpha> 你好！<role:jm_kumo> 我很好，谢谢！", "stream": True,
                 "response_format": "wav"})])
doc(flashtts.CloneVoiceView, "post", "Flash-TTS", "Clone a voice from reference audio", flashtts.CloneSerializer,
    [("base64", {"text": "克隆这段声音", "reference_audio": "<base64 of ref.wav>", "response_format": "mp3"})])
doc(flashtts.AddSpeakerView, "post", "Flash-TTS", "Add a voice (audio, or a Kokoro blend)",
    flashtts.AddSpeakerSerializer, [("from audio", {"name": "new_speaker", "reference_text": "示例音频描述"}),
                                   ("blend", {"name": "mix", "blend": "jf_alpha(2)+jm_kumo(1)"})],
    {200: JSON_OK, 409: JSON_OK})
doc(flashtts.DeleteSpeakerView, "post", "Flash-TTS", "Delete a voice",
    inline_serializer("DeleteSpeaker", {"name": serializers.CharField()}), [("delete", {"name": "new_speaker"})],
    {200: JSON_OK, 404: JSON_OK})
doc(flashtts.AudioRolesView, "get", "Flash-TTS", "List voices", responses={200: JSON_OK})
doc(openai.SpeechView, "post", "OpenAI", "Create speech", openai.SpeechSerializer,
    [("named voice", {"model": "tts-1", "voice": "joe", "input": "你好，我是无敌的小可爱。"}),
     ("clone", {"model": "tts-1", "voice": "<base64 of a recording>", "input": "你好"})])
doc(openai.ModelsView, "get", "OpenAI", "List models", responses={200: JSON_OK})
doc(openai.VoicesView, "get", "OpenAI", "List voices", responses={200: JSON_OK})
doc(fish.TTSView, "post", "Fish Speech", "Text to speech (JSON or msgpack)", fish.TTSRequestSerializer,
    [("reference_id", {"text": "你好，这是测试文本", "format": "wav", "reference_id": "my_voice", "streaming": False})])
doc(fish.AddReferenceView, "post", "Fish Speech", "Add a reference voice (multipart id, audio, text)",
    responses={200: JSON_OK, 400: JSON_OK, 409: JSON_OK})
doc(fish.ListReferencesView, "get", "Fish Speech", "List reference ids", responses={200: JSON_OK})
doc(fish.DeleteReferenceView, "delete", "Fish Speech", "Delete a reference voice",
    inline_serializer("DeleteReference", {"reference_id": serializers.CharField()}),
    [("delete", {"reference_id": "my_voice"})], {200: JSON_OK, 404: JSON_OK})
doc(fish.UpdateReferenceView, "post", "Fish Speech", "Rename a reference voice",
    inline_serializer("RenameReference", {"old_reference_id": serializers.CharField(),
                                          "new_reference_id": serializers.CharField()}),
    [("rename", {"old_reference_id": "old_name", "new_reference_id": "new_name"})], {200: JSON_OK, 404: JSON_OK})
doc(fish.VQGANEncodeView, "post", "Fish Speech", "Encode audio to VQGAN tokens (codec engines only; else 501)",
    responses={200: JSON_OK, 501: JSON_OK})
doc(fish.VQGANDecodeView, "post", "Fish Speech", "Decode VQGAN tokens (codec engines only; else 501)",
    responses={200: JSON_OK, 501: JSON_OK})
doc(task_views.GenerateAsyncView, "post", "Fish Speech tasks", "Start an async generation",
    task_views.AsyncGenerateSerializer,
    [("task", {"step_id": "task_001", "text": "这是一段需要异步处理的文本", "format": "mp3", "reference_id": "my_voice"})],
    {200: JSON_OK, 409: JSON_OK})
doc(task_views.TaskStatusView, "get", "Fish Speech tasks", "Task status", responses={200: JSON_OK, 404: JSON_OK})
doc(task_views.DownloadResultView, "get", "Fish Speech tasks", "Download a task's audio",
    responses={**AUDIO, 400: JSON_OK, 404: JSON_OK})
doc(task_views.StopAllView, "post", "Fish Speech tasks", "Stop every running task", responses={200: JSON_OK})
doc(task_views.StopTaskView, "post", "Fish Speech tasks", "Stop one task", responses={200: JSON_OK, 404: JSON_OK})
doc(lighttts.ZeroShotView, "post", "LightTTS", "Zero-shot synthesis: 16-bit mono PCM", lighttts.ZeroShotSerializer,
    [("zero shot", {"tts_text": "你好，这是一个测试。", "prompt_text": "这是一个友好的声音", "stream": False,
                    "speed": 1.0})])
for method in ("get", "post"):
    doc(lighttts.QueryModelsView, method, "LightTTS", "Loaded TTS models", responses={200: JSON_OK})
doc(openspeech.StreamView, "post", "OpenSpeech", "Stream mp3 for a session (same session_id interrupts)",
    openspeech.StreamSerializer, [("stream", {"text": "字节跳动语音合成。", "session_id": "demo"})])
doc(openspeech.InterruptView, "post", "OpenSpeech", "Interrupt a session",
    inline_serializer("Interrupt", {"session_id": serializers.CharField()}), [("interrupt", {"session_id": "demo"})],
    {200: JSON_OK, 404: JSON_OK})
