"""Voices used to say 'multi' for a language; a voice now has its native language (or none)."""
from django.db import migrations


def forward(apps, schema_editor):
    Voice = apps.get_model("voices", "Voice")
    Voice.objects.filter(language="multi").update(language="")
    for voice in Voice.objects.exclude(language=""):
        code = voice.language.strip().lower().replace("_", "-")
        if code != voice.language:
            Voice.objects.filter(pk=voice.pk).update(language=code)


class Migration(migrations.Migration):
    dependencies = [("voices", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
