"""The study file's reference page is generated from the schema: every field, measure, unit, statistic,
criterion, preset and assumption, with an example that loads and reconstructs."""
import re

import yaml

from helpers.cohort.response import PRESETS, Criteria
from helpers.paths import REPO_ROOT
from helpers.publication import measures, published, reference
from helpers.reconstruct import builder


def test_every_field_of_every_model_is_on_the_page_with_its_description():
    page = reference.markdown()
    for model in (published.Study, published.Source, published.Number, published.ResponseDefinition,
                  published.Grade, published.Criterion, published.Claim, published.Resolution,
                  published.Assumption, published.Reconstruction):
        for name, info in model.model_fields.items():
            assert f"| `{name}` |" in page, (model.__name__, name)
            assert info.description, f"{model.__name__}.{name} has no docstring: the page would say nothing of it"


def test_measures_units_statistics_criteria_and_presets_are_listed():
    page = reference.markdown()
    for name, m in measures.MEASURES.items():
        assert f"| `{name}` |" in page and all(unit.replace("<", "&lt;") in page for unit in m.units)
    assert all(f"| `{s}` |" in page for s in measures.STATISTICS)
    assert all(f"| `{f}` |" in page for f in Criteria.__dataclass_fields__)
    assert all(f"- `{name}`:" in page and p.url in page for name, p in PRESETS.items())


def test_every_assumption_the_builder_reads_is_documented():
    code = "".join((REPO_ROOT / "src" / "helpers" / "reconstruct" / f).read_text(encoding="utf-8")
                   for f in ("builder.py", "events.py", "plan.py"))
    read = set(re.findall(r'values(?:\.get\(|\[)"([a-z_]+)"', code)) | set(re.findall(r'_need\("([a-z_]+)"', code)) \
        | set(re.findall(r'_categories\("([a-z_]+)"', code)) | set(re.findall(r'_missing\(pub, "([a-z_]+)"', code)) \
        | set(re.findall(r'a\.id == "([a-z_]+)"', code))
    assert read and read <= set(reference.ASSUMPTIONS), sorted(read - set(reference.ASSUMPTIONS))


def test_the_example_loads_and_reconstructs():
    pub = published.Study.model_validate(yaml.safe_load(reference.EXAMPLE))
    assert builder.requirements(pub) == []
    assert len(builder.build(pub)["patients.csv"]) == 40


def test_the_book_page_includes_the_generated_piece_beside_the_data_dictionary():
    page = (REPO_ROOT / "book" / "study_file.md").read_text(encoding="utf-8")
    assert "```{include} generated/study_file.md" in page
    toc = (REPO_ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert "- file: book/data_dictionary\n      - file: book/study_file\n" in toc
    assert "<" not in re.sub(r"`[^`]*`|```.*?```", "", reference.markdown(), flags=re.S).replace("&lt;", "")
