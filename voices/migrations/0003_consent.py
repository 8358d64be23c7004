from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("voices", "0002_language_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="voice",
            name="consent_statement",
            field=models.TextField(blank=True, help_text="What the speaker agreed to, as they were shown it."),
        ),
        migrations.AddField(
            model_name="voice",
            name="consent_by",
            field=models.CharField(blank=True, help_text="Who confirmed the consent.", max_length=255),
        ),
        migrations.AddField(
            model_name="voice",
            name="consent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
