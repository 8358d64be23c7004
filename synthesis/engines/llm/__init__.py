"""The LLM-TTS engine family: a language model generates audio-codec tokens, a codec decodes them.

Engines (Orpheus with SNAC, Spark-TTS with BiCodec) build prompts and decode tokens; backends
(torch, vllm) run the language model.
Everything here needs torch (requirements-llm.txt / requirements-gpu.txt) and is imported only
when an LLM engine is enabled.
"""
