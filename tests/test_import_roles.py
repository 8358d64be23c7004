import pytest
from django.core.management import call_command

from tests.audio import tone_wav
from voices.models import Voice

pytestmark = pytest.mark.django_db


def test_it_imports_one_voice_per_role_folder(tmp_path, fake_voices, capsys):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "ref.wav").write_bytes(tone_wav())
    (tmp_path / "alice" / "ref.txt").write_text("hello from alice", encoding="utf-8")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "bob.wav").write_bytes(tone_wav(freq=120))
    (tmp_path / "empty").mkdir()
    call_command("import_roles", str(tmp_path))
    assert Voice.objects.get(name="alice").reference_text == "hello from alice"
    assert Voice.objects.get(name="bob").reference_audio
    out = capsys.readouterr().out
    assert "2 imported, 1 skipped" in out


def test_it_is_idempotent(tmp_path, fake_voices):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "ref.wav").write_bytes(tone_wav())
    call_command("import_roles", str(tmp_path))
    call_command("import_roles", str(tmp_path))
    assert Voice.objects.filter(name="alice").count() == 1


def test_builtin_voices_are_registered_once(fake_voices):
    from synthesis import services
    from voices.services import sync_builtin_voices

    assert sync_builtin_voices({"fake": services.load_engine("fake")}) == 0
    assert Voice.objects.filter(engine="fake", is_builtin=True).count() == 2
