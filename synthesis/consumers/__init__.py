"""Channels consumers: LightTTS bistream and the OpenSpeech binary protocol."""
