"""docs/CONFIG.md cannot drift from the settings object."""

from pathlib import Path

from config import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "CONFIG.md"


def documented() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`PULSE_"):
            rows[cells[0].strip("`")] = (cells[1].strip("`"), cells[2])
    return rows


def test_every_setting_is_documented_with_its_default_and_nothing_else():
    docs = documented()
    fields = {f"PULSE_{name.upper()}": info for name, info in Settings.model_fields.items()}
    assert set(docs) == set(fields)
    for env, info in fields.items():
        default, description = docs[env]
        expected_default = "(unset)" if info.default is None else str(info.default)
        if env in ("PULSE_KAFKA_URL", "PULSE_DATABASE_URL"):
            expected_default = "(embedded)"
        assert default == expected_default, env
        assert description == info.description, env
