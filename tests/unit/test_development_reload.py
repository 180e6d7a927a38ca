"""DEVELOPMENT_RELOAD: the development stack's edits show without a restart; production is unchanged."""

import importlib

import pytest
from django.template.backends.django import DjangoTemplates

from tests.support.settings import load_prod

pytestmark = pytest.mark.unit


def reload_prod(monkeypatch, development_reload):
    if development_reload is None:
        return load_prod(monkeypatch, unset=["DEVELOPMENT_RELOAD"])
    return load_prod(monkeypatch, DEVELOPMENT_RELOAD=development_reload)


@pytest.fixture
def prod_settings(monkeypatch):
    """Import educa.settings.prod afresh with DEVELOPMENT_RELOAD set to the given value (None: unset)."""
    yield lambda development_reload=None: reload_prod(monkeypatch, development_reload)
    # leave the module as production reads it for whoever imports it next
    with pytest.MonkeyPatch.context() as restore:
        reload_prod(restore, None)


def engine(settings_module, template_dir):
    """A template engine configured like the settings module's, reading from ``template_dir``."""
    config = {key: value for key, value in settings_module.TEMPLATES[0].items() if key != "BACKEND"}
    config.update(DIRS=[template_dir], NAME="django")
    return DjangoTemplates({**config, "OPTIONS": dict(config["OPTIONS"])})


def test_production_caches_templates_and_hashes_static_names(prod_settings):
    prod = prod_settings()
    assert prod.DEVELOPMENT_RELOAD is False
    assert prod.STORAGES["staticfiles"]["BACKEND"].endswith("ManifestStaticFilesStorage")
    assert prod.TEMPLATES[0]["APP_DIRS"] is True
    assert "loaders" not in prod.TEMPLATES[0]["OPTIONS"]  # Django's default: the cached loader


def test_development_reload_reads_templates_at_every_render_and_keeps_plain_names(prod_settings):
    prod = prod_settings("True")
    assert prod.DEVELOPMENT_RELOAD is True
    assert prod.STORAGES["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert prod.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage")
    loaders = prod.TEMPLATES[0]["OPTIONS"]["loaders"]
    assert not any("cached" in loader for loader in loaders)
    # everything else about the templates is production's
    base = importlib.import_module("educa.settings.base").TEMPLATES[0]
    assert prod.TEMPLATES[0]["OPTIONS"]["context_processors"] == base["OPTIONS"]["context_processors"]
    assert "loaders" not in base["OPTIONS"], "the base settings were changed in place"


@pytest.mark.parametrize(
    ("development_reload", "second_render"), [(None, "before"), ("True", "after")], ids=["prod", "dev"]
)
def test_an_edited_template_shows_only_with_development_reload(
    prod_settings, tmp_path, development_reload, second_render
):
    template = tmp_path / "page.html"
    template.write_text("before")
    templates = engine(prod_settings(development_reload), tmp_path)
    assert templates.get_template("page.html").render() == "before"

    template.write_text("after")
    assert templates.get_template("page.html").render() == second_render
