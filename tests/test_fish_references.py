import ormsgpack
import pytest

from tests.audio import tone_wav
from voices.models import Voice

pytestmark = pytest.mark.django_db


def add(client, ref_id="my_voice", text="这是参考文本", audio=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = {"audio": SimpleUploadedFile("ref.wav", audio or tone_wav(), content_type="audio/wav")}
    return client.post("/v1/references/add", {"id": ref_id, "text": text, **files})


def test_add_list_rename_delete(client, fake_voices):
    response = add(client)
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Reference voice 'my_voice' added successfully",
                               "reference_id": "my_voice"}
    listed = client.get("/v1/references/list").json()
    assert listed == {"success": True, "reference_ids": ["fake_a", "fake_b", "my_voice"],
                      "message": "Found 3 reference voices"}
    renamed = client.post("/v1/references/update", {"old_reference_id": "my_voice", "new_reference_id": "new name"},
                          content_type="application/json")
    assert renamed.json() == {"success": True,
                              "message": "Reference voice renamed from 'my_voice' to 'new name' successfully",
                              "old_reference_id": "my_voice", "new_reference_id": "new name"}
    deleted = client.delete("/v1/references/delete", {"reference_id": "new name"}, content_type="application/json")
    assert deleted.json() == {"success": True, "message": "Reference voice 'new name' deleted successfully",
                              "reference_id": "new name"}
    assert not Voice.objects.filter(name="new name").exists()


def test_a_reference_added_here_speaks_through_flash_tts(client, fake_voices):
    add(client, "shared")
    response = client.post("/speak", {"name": "shared", "text": "hi", "response_format": "wav"},
                           content_type="application/json")
    assert response.status_code == 200
    assert "shared" in client.get("/audio_roles").json()["roles"]


def test_a_flash_tts_speaker_is_a_reference_here(client, fake_voices):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post("/add_speaker", {"name": "flash", "audio_file": SimpleUploadedFile("a.wav", tone_wav())})
    response = client.post("/v1/tts", ormsgpack.packb({"text": "hi", "reference_id": "flash"}),
                           content_type="application/msgpack")
    assert response.status_code == 200


@pytest.mark.parametrize("ref_id", ["", "bad/slash", "x" * 256, "semi;colon"])
def test_an_invalid_id_is_400(client, fake_voices, ref_id):
    assert add(client, ref_id).status_code == 400


def test_a_duplicate_id_is_409(client, fake_voices):
    add(client, "twice")
    assert add(client, "twice").status_code == 409


def test_missing_text_or_audio_is_400(client, fake_voices):
    assert client.post("/v1/references/add", {"id": "x", "text": "t"}).status_code == 400
    from django.core.files.uploadedfile import SimpleUploadedFile

    assert client.post("/v1/references/add", {"id": "x", "audio": SimpleUploadedFile("a.wav", tone_wav())}
                       ).status_code == 400


def test_delete_and_update_of_unknown_ids_are_404(client, fake_voices):
    assert client.delete("/v1/references/delete", {"reference_id": "ghost"},
                         content_type="application/json").status_code == 404
    assert client.post("/v1/references/update", {"old_reference_id": "ghost", "new_reference_id": "x"},
                       content_type="application/json").status_code == 404


def test_rename_onto_an_existing_id_is_409(client, fake_voices):
    response = client.post("/v1/references/update", {"old_reference_id": "fake_a", "new_reference_id": "fake_b"},
                           content_type="application/json")
    assert response.status_code == 409


def test_list_as_msgpack(client, fake_voices):
    response = client.get("/v1/references/list?format=msgpack")
    assert response["Content-Type"] == "application/msgpack"
    assert ormsgpack.unpackb(response.content)["reference_ids"] == ["fake_a", "fake_b"]


def test_the_manual_references_folder_imports_with_lab_transcripts(tmp_path, fake_voices):
    from django.core.management import call_command

    (tmp_path / "my_voice").mkdir()
    (tmp_path / "my_voice" / "sample.wav").write_bytes(tone_wav())
    (tmp_path / "my_voice" / "sample.lab").write_text("参考文本", encoding="utf-8")
    call_command("import_roles", str(tmp_path))
    assert Voice.objects.get(name="my_voice").reference_text == "参考文本"


def test_vqgan_is_501_without_a_codec(client, fake_voices):
    for path in ("/v1/vqgan/encode", "/v1/vqgan/decode"):
        response = client.post(path, ormsgpack.packb({"audios": [tone_wav()], "tokens": [[[1, 2]]]}),
                               content_type="application/msgpack")
        assert response.status_code == 501
        assert "No codec model is loaded" in response.json()["detail"]
