"""The shipped data files: aliases, units and FAQs load, and aliases are unambiguous."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.db import Database
from knowledge.errors import ImportFileError
from knowledge.importer import SHIPPED_NATIONAL, import_national
from knowledge.repository import Repository
from knowledge.seed import ALIASES, duplicate_aliases, load_aliases, load_faqs, load_units, read_yaml
from knowledge.text import fold


def test_shipped_aliases_are_unambiguous_and_cover_the_common_procedures() -> None:
    items = yaml.safe_load(ALIASES.read_text(encoding="utf-8"))["procedures"]
    assert len(items) >= 60
    owner: dict[str, str] = {}
    for it in items:
        for alias in it["aliases"]:
            key = fold(alias)
            assert owner.setdefault(key, it["code"]) == it["code"], f"{alias!r} is shared"
    codes = {it["code"] for it in items}
    assert {"1.001193", "1.000894", "1.000656", "2.000815", "2.000884", "1.004222", "1.004194"} <= codes


def test_full_init_on_each_backend(db: Database) -> None:
    import_national(db, SHIPPED_NATIONAL)
    report = load_aliases(db)
    assert report.unknown_codes == ()
    assert load_units(db) == 1 and load_units(db) == 0
    assert load_faqs(db) >= 3 and load_faqs(db) == 0
    assert duplicate_aliases(db) == []
    repo = Repository(db)
    stats = repo.stats()
    assert (stats.procedures, stats.ward_level) == (2642, 588)
    birth = repo.procedure("1.001193")
    assert birth is not None and birth.popularity == 100 and "làm giấy khai sinh" in birth.aliases
    unit = repo.unit(None)
    assert unit is not None and unit.hotline
    # reloading changes nothing
    again = load_aliases(db)
    assert (again.added, again.removed) == (0, 0)


def test_bad_yaml_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "x.yml"
    bad.write_text("procedures: [\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="YAML không hợp lệ"):
        read_yaml(bad, "procedures")
    bad.write_text("other: 1\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="cần một danh sách"):
        read_yaml(bad, "procedures")
