"""The provider environment table agrees with the providers list."""

from open_notebook_ext.provider_env import PROVIDER_ENV, secret_variables
from open_notebook_ext.providers import PROVIDERS


def test_every_provider_has_its_environment_names_and_only_real_fields():
    assert set(PROVIDER_ENV) == set(PROVIDERS)
    for name, env in PROVIDER_ENV.items():
        spec = PROVIDERS[name]
        assert set(env.fields) <= set(spec.fields), name
        for f in env.secret_fields:
            assert f in env.fields, (name, f)
        # what Open Notebook calls "configured" is spelled with names of the table
        assert set(env.required) | set(env.required_any) <= set(env.variables), name


def test_the_key_variables_the_issue_names_are_secret():
    names = set(secret_variables())
    for var in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "MISTRAL_API_KEY",
        "GROQ_API_KEY",
        "OPENROUTER_API_KEY",
        "DEEPSEEK_API_KEY",
        "XAI_API_KEY",
        "ELEVENLABS_API_KEY",
        "VOYAGE_API_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ):
        assert var in names
    assert "OPENAI_BASE_URL" not in names and "OLLAMA_HOST" not in names


def test_configured_and_read_follow_open_notebook():
    google = PROVIDER_ENV["google"]
    assert not google.configured({"GOOGLE_API_KEY": "  "})
    assert google.configured({"GEMINI_API_KEY": "g-1"})
    assert google.read({"GOOGLE_API_KEY": " ", "GEMINI_API_KEY": "g-1"}) == {"api_key": "g-1"}
    azure = PROVIDER_ENV["azure"]
    env = {"AZURE_OPENAI_API_KEY": "k", "AZURE_OPENAI_ENDPOINT": "https://x.example"}
    assert not azure.configured(env)
    env["AZURE_OPENAI_API_VERSION"] = "2024-10-21"
    assert azure.configured(env)
    assert azure.read(env) == {
        "api_key": "k",
        "endpoint": "https://x.example",
        "api_version": "2024-10-21",
    }
